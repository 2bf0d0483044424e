// Decoders of ggml's small-block types other than Q8_0 / Q4_0: Q4_1, Q5_0, Q5_1, IQ4_NL, MXFP4 (32 values),
// NVFP4 (64), Q1_0 (128), Q2_0 (64). Arithmetic as ggml's dequantize_row_* (ggml-quants.c).
#include <cmath>

#include "kernels/dequantize_blocks.h"
#include "kernels/iq_grids.h"

namespace gemma4::kernels {
namespace {

// Value of an E8M0 exponent byte, halved (MXFP4 stores its e2m1 values doubled): 2^(e - 128), built from
// bits so e = 0 and 1 give the subnormals 2^-128 and 2^-127.
inline float e8m0_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

// Unsigned E4M3 (bias 7) scale of NVFP4, halved for the doubled e2m1 values; 0 and 0x7f read as zero.
inline float ue4m3_half(uint8_t x) {
  if (x == 0 || x == 0x7f) return 0.0f;
  const int exponent = (x >> 3) & 0xf;
  const int mantissa = x & 7;
  const float raw = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                  : std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
  return raw * 0.5f;
}

}  // namespace

// 20 bytes: f16 d, f16 m, 16 bytes of nibbles (value i low, value i + 16 high); q * d + m.
void dequantize_q4_1(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block, out += 32) {
    const uint8_t* b = data + block * 20;
    const float d = load_f16(b), m = load_f16(b + 2);
    const uint8_t* q = b + 4;
    for (int i = 0; i < 16; ++i) {
      out[i] = static_cast<float>(q[i] & 0x0f) * d + m;
      out[i + 16] = static_cast<float>(q[i] >> 4) * d + m;
    }
  }
}

// 22 bytes: f16 d, 32 fifth bits (bit i of a little-endian u32 for value i), 16 bytes of nibbles; (q - 16) * d.
void dequantize_q5_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block, out += 32) {
    const uint8_t* b = data + block * 22;
    const float d = load_f16(b);
    const uint32_t qh = load_u32(b + 2);
    const uint8_t* q = b + 6;
    for (int i = 0; i < 16; ++i) {
      const int low = (q[i] & 0x0f) | static_cast<int>(((qh >> i) & 1u) << 4);
      const int high = (q[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1u) << 4);
      out[i] = static_cast<float>(low - 16) * d;
      out[i + 16] = static_cast<float>(high - 16) * d;
    }
  }
}

// 24 bytes: f16 d, f16 m, 32 fifth bits, 16 bytes of nibbles; q * d + m.
void dequantize_q5_1(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block, out += 32) {
    const uint8_t* b = data + block * 24;
    const float d = load_f16(b), m = load_f16(b + 2);
    const uint32_t qh = load_u32(b + 4);
    const uint8_t* q = b + 8;
    for (int i = 0; i < 16; ++i) {
      const int low = (q[i] & 0x0f) | static_cast<int>(((qh >> i) & 1u) << 4);
      const int high = (q[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1u) << 4);
      out[i] = static_cast<float>(low) * d + m;
      out[i + 16] = static_cast<float>(high) * d + m;
    }
  }
}

// 18 bytes: f16 d, 16 bytes of nibbles indexing the non-linear table; d * table[q].
void dequantize_iq4_nl(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block, out += 32) {
    const uint8_t* b = data + block * 18;
    const float d = load_f16(b);
    const uint8_t* q = b + 2;
    for (int i = 0; i < 16; ++i) {
      out[i] = d * static_cast<float>(kIq4nlValues[q[i] & 0x0f]);
      out[i + 16] = d * static_cast<float>(kIq4nlValues[q[i] >> 4]);
    }
  }
}

// 17 bytes: e8m0 exponent, 16 bytes of e2m1 nibbles (doubled values); value * 2^(e - 128).
void dequantize_mxfp4(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block, out += 32) {
    const uint8_t* b = data + block * 17;
    const float d = e8m0_half(b[0]);
    const uint8_t* q = b + 1;
    for (int i = 0; i < 16; ++i) {
      out[i] = static_cast<float>(kMxfp4Values[q[i] & 0x0f]) * d;
      out[i + 16] = static_cast<float>(kMxfp4Values[q[i] >> 4]) * d;
    }
  }
}

// 36 bytes per 64 values: 4 ue4m3 scales (one per 16), then 8 nibble bytes per 16 values.
void dequantize_nvfp4(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 64; ++block) {
    const uint8_t* b = data + block * 36;
    for (int s = 0; s < 4; ++s, out += 16) {
      const float d = ue4m3_half(b[s]);
      const uint8_t* q = b + 4 + 8 * s;
      for (int i = 0; i < 8; ++i) {
        out[i] = static_cast<float>(kMxfp4Values[q[i] & 0x0f]) * d;
        out[i + 8] = static_cast<float>(kMxfp4Values[q[i] >> 4]) * d;
      }
    }
  }
}

// 18 bytes per 128 values: f16 d, one bit per value (1: +d, 0: -d).
void dequantize_q1_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 128; ++block, out += 128) {
    const uint8_t* b = data + block * 18;
    const float d = load_f16(b);
    for (int i = 0; i < 128; ++i) out[i] = ((b[2 + i / 8] >> (i % 8)) & 1) ? d : -d;
  }
}

// 18 bytes per 64 values: f16 d, 2 bits per value (value i in bits 2(i%4) of byte i/4); (q - 1) * d.
void dequantize_q2_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 64; ++block, out += 64) {
    const uint8_t* b = data + block * 18;
    const float d = load_f16(b);
    for (int i = 0; i < 64; ++i) out[i] = static_cast<float>(((b[2 + i / 4] >> (2 * (i % 4))) & 3) - 1) * d;
  }
}

}  // namespace gemma4::kernels
