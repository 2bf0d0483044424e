// Storage types of weights, and the scalar conversions between them and float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace gemma4 {

enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  // ggml block types (layouts as in ggml-common.h). Blocks of 32 values:
  Q8_0,  // f16 scale, 32 int8: 34 bytes
  Q4_0,  // f16 scale, 32 nibbles: 18 bytes
  Q4_1,  // f16 scale, f16 min, 32 nibbles: 20 bytes
  Q5_0,  // f16 scale, 32 high bits, 32 nibbles: 22 bytes
  Q5_1,  // f16 scale, f16 min, 32 high bits, 32 nibbles: 24 bytes
  IQ4_NL,  // f16 scale, 32 nibbles indexing a non-linear table: 18 bytes
  MXFP4,   // e8m0 scale, 32 e2m1 nibbles: 17 bytes
  // k-quants and i-quants: super-blocks of 256 values.
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  IQ1_S,
  IQ1_M,
  IQ2_XXS,
  IQ2_XS,
  IQ2_S,
  IQ3_XXS,
  IQ3_S,
  IQ4_XS,
  TQ1_0,  // ternary, base-3 packed
  TQ2_0,  // ternary, 2 bits a value
  // Other ggml block sizes.
  NVFP4,  // 64 values: 4 ue4m3 scales (one per 16), 32 e2m1 nibble bytes: 36 bytes
  Q1_0,   // 128 values: f16 scale, 128 sign bits: 18 bytes
  Q2_0,   // 64 values: f16 scale, 64 2-bit values: 18 bytes
  I32,
  I64,
  U8,
};

const char* dtype_name(DType type);

// Elements that share one block of storage (1 for plain types).
int64_t dtype_block_elems(DType type);
// Bytes of one block (the element size for plain types).
int64_t dtype_block_bytes(DType type);
// Bytes needed for `elems` elements laid out in one row; throws if elems is not a whole number of blocks.
size_t dtype_row_bytes(DType type, int64_t elems);

inline float bf16_to_f32(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// Round to nearest even, keeping NaN a NaN.
inline uint16_t f32_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);

// Rounds a float32 to the nearest value representable in `type` (identity for F32).
float round_to_dtype(float value, DType type);

}  // namespace gemma4
