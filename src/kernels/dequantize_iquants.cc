// ggml i-quant decoders (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_XS): super-blocks of 256
// values whose groups of 8 (or 4) index codebooks (iq_grids.cc), layouts as in ggml-common.h, arithmetic as
// ggml's dequantize_row_* (ggml-quants.c).
#include "kernels/dequantize_blocks.h"
#include "kernels/iq_grids.h"

namespace gemma4::kernels {
namespace {

inline int grid_byte(uint64_t entry, int j) { return static_cast<int>((entry >> (8 * j)) & 0xff); }
inline int grid_byte(uint32_t entry, int j) { return static_cast<int>((entry >> (8 * j)) & 0xff); }
inline float sign_of(uint8_t signs, int j) { return ((signs >> j) & 1) ? -1.0f : 1.0f; }

// 8 values of a 2-bit grid: (db * grid[j]) * sign[j].
inline void put_grid8(float db, uint64_t entry, uint8_t signs, float* out) {
  for (int j = 0; j < 8; ++j) out[j] = db * static_cast<float>(grid_byte(entry, j)) * sign_of(signs, j);
}

}  // namespace

// Block (66 bytes): f16 d, then per 32 values two u32: four 8-bit grid indices; 4 x 7 sign bits and a 4-bit
// scale in the top bits. db = d * (0.5 + scale) * 0.25.
void dequantize_iq2_xxs(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 66;
    const float d = load_f16(b);
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* indices = b + 2 + 8 * ib;
      const uint32_t aux = load_u32(indices + 4);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, out += 8) put_grid8(db, kIq2xxsGrid[indices[l]], kIqSigns[(aux >> (7 * l)) & 127], out);
    }
  }
}

// Block (74 bytes): f16 d, 32 u16 (9-bit grid index, 7 sign bits), 8 bytes of two 4-bit scales (one per 16).
void dequantize_iq2_xs(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 74;
    const float d = load_f16(b);
    const uint8_t* scales = b + 66;
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + static_cast<float>(scales[ib] & 0x0f)) * 0.25f,
                           d * (0.5f + static_cast<float>(scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, out += 8) {
        const uint16_t q = load_u16(b + 2 + 2 * (4 * ib + l));
        put_grid8(db[l / 2], kIq2xsGrid[q & 511], kIqSigns[q >> 9], out);
      }
    }
  }
}

// Block (82 bytes): f16 d, 32 low index bytes, 32 sign bytes, 8 bytes of high index bits (2 per group of 8),
// 8 bytes of two 4-bit scales.
void dequantize_iq2_s(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 82;
    const float d = load_f16(b);
    const uint8_t* qs = b + 2;
    const uint8_t* signs = b + 34;
    const uint8_t* qh = b + 66;
    const uint8_t* scales = b + 74;
    for (int ib = 0; ib < 8; ++ib, qs += 4, signs += 4) {
      const float db[2] = {d * (0.5f + static_cast<float>(scales[ib] & 0x0f)) * 0.25f,
                           d * (0.5f + static_cast<float>(scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, out += 8) {
        const int index = qs[l] | ((qh[ib] << (8 - 2 * l)) & 0x300);
        put_grid8(db[l / 2], kIq2sGrid[index], signs[l], out);
      }
    }
  }
}

// Block (98 bytes): f16 d, 64 grid index bytes (4 values each), then per 32 values a u32 of 4 x 7 sign bits
// and a 4-bit scale. db = d * (0.5 + scale) * 0.5.
void dequantize_iq3_xxs(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 98;
    const float d = load_f16(b);
    const uint8_t* qs = b + 2;
    for (int ib = 0; ib < 8; ++ib, qs += 8) {
      const uint32_t aux = load_u32(b + 66 + 4 * ib);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l, out += 8) {
        const uint8_t signs = kIqSigns[(aux >> (7 * l)) & 127];
        const uint32_t g1 = kIq3xxsGrid[qs[2 * l]], g2 = kIq3xxsGrid[qs[2 * l + 1]];
        for (int j = 0; j < 4; ++j) {
          out[j] = db * static_cast<float>(grid_byte(g1, j)) * sign_of(signs, j);
          out[j + 4] = db * static_cast<float>(grid_byte(g2, j)) * sign_of(signs, j + 4);
        }
      }
    }
  }
}

// Block (110 bytes): f16 d, 64 low index bytes, 8 bytes of ninth index bits, 32 sign bytes, 4 bytes of two
// 4-bit scales (one per 32 values). db = d * (1 + 2 * scale).
void dequantize_iq3_s(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 110;
    const float d = load_f16(b);
    const uint8_t* qs = b + 2;
    const uint8_t* qh = b + 66;
    const uint8_t* signs = b + 74;
    const uint8_t* scales = b + 106;
    for (int ib = 0; ib < 8; ++ib, qs += 8, signs += 4) {
      const int scale = ib % 2 == 0 ? (scales[ib / 2] & 0x0f) : (scales[ib / 2] >> 4);
      const float db = d * static_cast<float>(1 + 2 * scale);
      const int high = qh[ib];
      for (int l = 0; l < 4; ++l, out += 8) {
        const uint32_t g1 = kIq3sGrid[qs[2 * l] | ((high << (8 - 2 * l)) & 256)];
        const uint32_t g2 = kIq3sGrid[qs[2 * l + 1] | ((high << (7 - 2 * l)) & 256)];
        for (int j = 0; j < 4; ++j) {
          out[j] = db * static_cast<float>(grid_byte(g1, j)) * sign_of(signs[l], j);
          out[j + 4] = db * static_cast<float>(grid_byte(g2, j)) * sign_of(signs[l], j + 4);
        }
      }
    }
  }
}

namespace {

constexpr float kIq1Delta = 0.125f;

// 8 values of the ternary IQ1 grid: dl * (grid[j] + delta).
inline void put_iq1(float dl, int index, float delta, float* out) {
  const uint64_t entry = kIq1sGrid[index];
  for (int j = 0; j < 8; ++j) {
    out[j] = dl * (static_cast<float>(static_cast<int8_t>(grid_byte(entry, j))) + delta);
  }
}

}  // namespace

// Block (50 bytes): f16 d, 32 low index bytes, 8 u16 (4 x 3 high index bits, 3-bit scale, delta sign).
void dequantize_iq1_s(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 50;
    const float d = load_f16(b);
    const uint8_t* qs = b + 2;
    for (int ib = 0; ib < 8; ++ib, qs += 4) {
      const uint16_t qh = load_u16(b + 34 + 2 * ib);
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
      const float delta = (qh & 0x8000) ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l, out += 8) put_iq1(dl, qs[l] | (((qh >> (3 * l)) & 7) << 8), delta, out);
    }
  }
}

// Block (56 bytes): 32 low index bytes, 16 bytes (per group of 8: 3 high index bits and a delta sign), 8 bytes
// = 4 u16 holding 16 3-bit scales (one per 16 values) and, in their top nibbles, the f16 d.
void dequantize_iq1_m(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 56;
    const uint8_t* qs = b;
    const uint8_t* qh = b + 32;
    uint16_t sc[4];
    for (int i = 0; i < 4; ++i) sc[i] = load_u16(b + 48 + 2 * i);
    const uint16_t d_bits = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                                                  (sc[3] & 0xf000));
    const float d = f16_to_f32(d_bits);
    for (int ib = 0; ib < 8; ++ib, qs += 4, qh += 2) {
      const float dl1 = d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 7) + 1);
      const float dl2 = d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1);
      const int index[4] = {qs[0] | ((qh[0] << 8) & 0x700), qs[1] | ((qh[0] << 4) & 0x700),
                            qs[2] | ((qh[1] << 8) & 0x700), qs[3] | ((qh[1] << 4) & 0x700)};
      const float delta[4] = {(qh[0] & 0x08) ? -kIq1Delta : kIq1Delta, (qh[0] & 0x80) ? -kIq1Delta : kIq1Delta,
                              (qh[1] & 0x08) ? -kIq1Delta : kIq1Delta, (qh[1] & 0x80) ? -kIq1Delta : kIq1Delta};
      for (int l = 0; l < 4; ++l, out += 8) put_iq1(l < 2 ? dl1 : dl2, index[l], delta[l], out);
    }
  }
}

// Block (136 bytes): f16 d, u16 of 8 high scale bit pairs, 4 bytes of 8 low scale nibbles, 128 bytes of
// nibbles indexing the IQ4_NL table; value = (d * (scale - 32)) * table[q].
void dequantize_iq4_xs(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 136;
    const float d = load_f16(b);
    const uint16_t scales_h = load_u16(b + 2);
    const uint8_t* scales_l = b + 4;
    const uint8_t* qs = b + 8;
    for (int ib = 0; ib < 8; ++ib, qs += 16, out += 32) {
      const int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        out[j] = dl * static_cast<float>(kIq4nlValues[qs[j] & 0x0f]);
        out[j + 16] = dl * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
      }
    }
  }
}

}  // namespace gemma4::kernels
