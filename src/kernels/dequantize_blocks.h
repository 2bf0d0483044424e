// The plain row decoders of the ggml block types, one per type: `count` values (a whole number of blocks,
// checked by kernels::dequantize) from `data` to float32, with ggml's own arithmetic (dequantize_row_* in
// ggml-quants.c: the same products in the same order, no fused multiply-adds), so every value is bit for bit
// what ggml decodes. These are the reference twins of the SIMD kernels.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/dtype.h"

namespace gemma4::kernels {

using BlockDecoder = void (*)(const uint8_t* data, int64_t count, float* out);

// 32-value blocks (dequantize.cc, dequantize_legacy.cc).
void dequantize_q8_0(const uint8_t* data, int64_t count, float* out);
void dequantize_q4_0(const uint8_t* data, int64_t count, float* out);
void dequantize_q4_1(const uint8_t* data, int64_t count, float* out);
void dequantize_q5_0(const uint8_t* data, int64_t count, float* out);
void dequantize_q5_1(const uint8_t* data, int64_t count, float* out);
void dequantize_iq4_nl(const uint8_t* data, int64_t count, float* out);
void dequantize_mxfp4(const uint8_t* data, int64_t count, float* out);
void dequantize_nvfp4(const uint8_t* data, int64_t count, float* out);
void dequantize_q1_0(const uint8_t* data, int64_t count, float* out);
void dequantize_q2_0(const uint8_t* data, int64_t count, float* out);
// k-quants and ternary types (dequantize_kquants.cc).
void dequantize_q2_k(const uint8_t* data, int64_t count, float* out);
void dequantize_q3_k(const uint8_t* data, int64_t count, float* out);
void dequantize_q4_k(const uint8_t* data, int64_t count, float* out);
void dequantize_q5_k(const uint8_t* data, int64_t count, float* out);
void dequantize_q6_k(const uint8_t* data, int64_t count, float* out);
void dequantize_tq1_0(const uint8_t* data, int64_t count, float* out);
void dequantize_tq2_0(const uint8_t* data, int64_t count, float* out);
// i-quants (dequantize_iquants.cc).
void dequantize_iq1_s(const uint8_t* data, int64_t count, float* out);
void dequantize_iq1_m(const uint8_t* data, int64_t count, float* out);
void dequantize_iq2_xxs(const uint8_t* data, int64_t count, float* out);
void dequantize_iq2_xs(const uint8_t* data, int64_t count, float* out);
void dequantize_iq2_s(const uint8_t* data, int64_t count, float* out);
void dequantize_iq3_xxs(const uint8_t* data, int64_t count, float* out);
void dequantize_iq3_s(const uint8_t* data, int64_t count, float* out);
void dequantize_iq4_xs(const uint8_t* data, int64_t count, float* out);

// The decoder of a block type (null for F32, F16, BF16 and the integer types).
BlockDecoder block_decoder(DType type);

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, 2);
  return value;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t value;
  std::memcpy(&value, p, 4);
  return value;
}
inline float load_f16(const uint8_t* p) { return f16_to_f32(load_u16(p)); }

// The 6-bit (scale, min) pair j < 8 of Q4_K / Q5_K: pairs 0-3 in the low 6 bits of bytes 0-3 / 4-7, pairs
// 4-7 in the nibbles of bytes 8-11 with their top 2 bits in the high bits of bytes 0-3 / 4-7.
inline void k4_scale_min(int j, const uint8_t* s, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace gemma4::kernels
