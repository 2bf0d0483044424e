// ggml k-quant decoders (Q2_K .. Q6_K) and the ternary TQ1_0 / TQ2_0: super-blocks of 256 values, layouts
// as in ggml-common.h, arithmetic as ggml's dequantize_row_* (ggml-quants.c).
#include "kernels/dequantize_blocks.h"

namespace gemma4::kernels {

// Block (84 bytes): 16 scale bytes (low nibble: scale, high nibble: min, one pair per 16 values), 64 bytes of
// 2-bit quants, f16 d, f16 dmin. Each 128 values use 32 quant bytes: 4 shifts x (16 from bytes 0-15, 16 from
// bytes 16-31); value = (d * scale) * q - dmin * min.
void dequantize_q2_k(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 84;
    const uint8_t* scales = b;
    const uint8_t* q = b + 16;
    const float d = load_f16(b + 80), dmin = load_f16(b + 82);
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          const uint8_t sc = scales[is++];
          const float dl = d * static_cast<float>(sc & 0x0f), ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) *out++ = dl * static_cast<float>((q[l + 16 * part] >> shift) & 3) - ml;
        }
      }
    }
  }
}

// Block (110 bytes): 32 bytes of high-bit masks, 64 bytes of 2-bit quants, 12 bytes of 16 packed 6-bit
// scales, f16 d. Scale j: low 4 bits from nibble j / 8 of byte j % 8, top 2 bits from bits 2 (j / 4) of byte
// 8 + j % 4, minus 32. Value = (d * scale) * (q - (high bit clear ? 4 : 0)).
void dequantize_q3_k(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 110;
    const uint8_t* hmask = b;
    const uint8_t* q = b + 32;
    const uint8_t* packed = b + 96;
    const float d = load_f16(b + 108);
    int scales[16];
    for (int j = 0; j < 16; ++j) {
      const int low = (packed[j % 8] >> (4 * (j / 8))) & 0x0f;
      const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
      scales[j] = (low | (high << 4)) - 32;
    }
    int is = 0;
    int bit = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, ++bit) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d * static_cast<float>(scales[is++]);
          for (int l = 0; l < 16; ++l) {
            const int i = l + 16 * part;
            const int value = ((q[i] >> shift) & 3) - (((hmask[i] >> bit) & 1) ? 0 : 4);
            *out++ = dl * static_cast<float>(value);
          }
        }
      }
    }
  }
}

// Block (144 bytes): f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of 4-bit quants.
// Each 64 values: 32 low nibbles (sub-block 2k) then 32 high nibbles (sub-block 2k+1) of the same 32 bytes;
// value = (d * scale) * q - dmin * min.
void dequantize_q4_k(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 144;
    const float d = load_f16(b);
    const float dmin = load_f16(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* q = b + 16;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32, out += 64) {
      int sc = 0, m = 0;
      k4_scale_min(2 * chunk, scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k4_scale_min(2 * chunk + 1, scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) out[l] = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) out[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Block (176 bytes): f16 d, f16 dmin, 12 bytes of scales/mins, 32 bytes of fifth bits, 128 bytes of nibbles.
// As Q4_K, with bit 2k (low nibbles) / 2k + 1 (high nibbles) of qh[l] adding 16 in chunk k.
void dequantize_q5_k(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 176;
    const float d = load_f16(b);
    const float dmin = load_f16(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* q = b + 48;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32, out += 64) {
      int sc = 0, m = 0;
      k4_scale_min(2 * chunk, scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k4_scale_min(2 * chunk + 1, scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        const int value = (q[l] & 0x0f) + (((qh[l] >> (2 * chunk)) & 1) << 4);
        out[l] = d1 * static_cast<float>(value) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int value = (q[l] >> 4) + (((qh[l] >> (2 * chunk + 1)) & 1) << 4);
        out[32 + l] = d2 * static_cast<float>(value) - m2;
      }
    }
  }
}

// Block (210 bytes): 128 bytes low 4 bits (ql), 64 bytes high 2 bits (qh), 16 int8 scales, f16 d.
// Each half (128 values) uses 64 ql bytes, 32 qh bytes and 8 scales; value = (d * scale[16-group]) * (q - 32).
void dequantize_q6_k(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 210;
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = load_f16(b + 208);
    float* y = out + block * 256;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int group = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[group]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[group + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[group + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[group + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

namespace {

// Digit n of a base-3 packed byte (TQ1_0 stores 5 ternary digits as ceil(v * 256 / 243)): the byte times
// 3^n (mod 256) moves digit n to the top, and (x * 3) >> 8 reads it.
inline int ternary_digit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t shifted = static_cast<uint8_t>(byte * kPow3[n]);
  return (static_cast<uint16_t>(shifted) * 3) >> 8;
}

}  // namespace

// Block (54 bytes): 48 bytes of 5 digits each (bytes 0-31: digits n of all 32 bytes for n = 0..4, then bytes
// 32-47 likewise), 4 bytes of 4 digits each (digit n of the 4 bytes for n = 0..3), f16 d; (digit - 1) * d.
void dequantize_tq1_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 54;
    const float d = load_f16(b + 52);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 32; ++m) *out++ = static_cast<float>(ternary_digit(b[m], n) - 1) * d;
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 16; ++m) *out++ = static_cast<float>(ternary_digit(b[32 + m], n) - 1) * d;
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 4; ++m) *out++ = static_cast<float>(ternary_digit(b[48 + m], n) - 1) * d;
  }
}

// Block (66 bytes): 64 bytes of 2-bit values (each 32 bytes: 4 shifts x 32 values), f16 d; (q - 1) * d.
void dequantize_tq2_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 66;
    const float d = load_f16(b + 64);
    for (int j = 0; j < 64; j += 32)
      for (int shift = 0; shift < 8; shift += 2)
        for (int m = 0; m < 32; ++m) *out++ = static_cast<float>(((b[j + m] >> shift) & 3) - 1) * d;
  }
}

}  // namespace gemma4::kernels
