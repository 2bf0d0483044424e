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
  Q8_0,  // blocks of 32 int8 with one f16 scale (ggml layout): 34 bytes a block
  Q4_0,  // blocks of 32 4-bit values with one f16 scale (ggml layout): 18 bytes a block
  Q4_K,  // ggml k-quants: super-blocks of 256
  Q6_K,
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
