#include "core/dtype.h"

#include <gemma4/error.h>

#include <cmath>

namespace gemma4 {

namespace {

struct TypeInfo {
  const char* name;
  int64_t block_elems;
  int64_t block_bytes;
};

// Block sizes and bytes as ggml's type traits (ggml.c) and gguf-py's GGML_QUANT_SIZES define them.
TypeInfo type_info(DType type) {
  switch (type) {
    case DType::F32: return {"F32", 1, 4};
    case DType::F16: return {"F16", 1, 2};
    case DType::BF16: return {"BF16", 1, 2};
    case DType::Q8_0: return {"Q8_0", 32, 34};
    case DType::Q4_0: return {"Q4_0", 32, 18};
    case DType::Q4_1: return {"Q4_1", 32, 20};
    case DType::Q5_0: return {"Q5_0", 32, 22};
    case DType::Q5_1: return {"Q5_1", 32, 24};
    case DType::IQ4_NL: return {"IQ4_NL", 32, 18};
    case DType::MXFP4: return {"MXFP4", 32, 17};
    case DType::Q2_K: return {"Q2_K", 256, 84};
    case DType::Q3_K: return {"Q3_K", 256, 110};
    case DType::Q4_K: return {"Q4_K", 256, 144};
    case DType::Q5_K: return {"Q5_K", 256, 176};
    case DType::Q6_K: return {"Q6_K", 256, 210};
    case DType::IQ1_S: return {"IQ1_S", 256, 50};
    case DType::IQ1_M: return {"IQ1_M", 256, 56};
    case DType::IQ2_XXS: return {"IQ2_XXS", 256, 66};
    case DType::IQ2_XS: return {"IQ2_XS", 256, 74};
    case DType::IQ2_S: return {"IQ2_S", 256, 82};
    case DType::IQ3_XXS: return {"IQ3_XXS", 256, 98};
    case DType::IQ3_S: return {"IQ3_S", 256, 110};
    case DType::IQ4_XS: return {"IQ4_XS", 256, 136};
    case DType::TQ1_0: return {"TQ1_0", 256, 54};
    case DType::TQ2_0: return {"TQ2_0", 256, 66};
    case DType::NVFP4: return {"NVFP4", 64, 36};
    case DType::Q1_0: return {"Q1_0", 128, 18};
    case DType::Q2_0: return {"Q2_0", 64, 18};
    case DType::I32: return {"I32", 1, 4};
    case DType::I64: return {"I64", 1, 8};
    case DType::U8: return {"U8", 1, 1};
  }
  return {"?", 1, 0};
}

}  // namespace

const char* dtype_name(DType type) { return type_info(type).name; }

int64_t dtype_block_elems(DType type) { return type_info(type).block_elems; }

int64_t dtype_block_bytes(DType type) { return type_info(type).block_bytes; }

size_t dtype_row_bytes(DType type, int64_t elems) {
  const int64_t block = dtype_block_elems(type);
  if (elems % block != 0) {
    throw Error(std::string("a row of ") + std::to_string(elems) + " elements is not a whole number of " +
                dtype_name(type) + " blocks of " + std::to_string(block));
  }
  return static_cast<size_t>(elems / block * dtype_block_bytes(type));
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = (bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0) {
    if (mantissa == 0) {
      out = sign;
    } else {  // subnormal: renormalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      out = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 31) {
    out = sign | 0x7f800000u | (mantissa << 13);
  } else {
    out = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &out, sizeof value);
  return value;
}

uint16_t f32_to_f16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits >= 0x7f800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs_bits >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs_bits < 0x38800000u) {  // result is subnormal or zero: let the FPU round
    float magnitude;
    std::memcpy(&magnitude, &abs_bits, sizeof magnitude);
    const float scaled = magnitude * 16777216.0f;  // 2^24: one unit per smallest f16 subnormal
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  // Normal: round mantissa to 10 bits, nearest even.
  uint32_t rounded = abs_bits + 0xfffu + ((abs_bits >> 13) & 1u);
  rounded -= (127u - 15u) << 23;
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

float round_to_dtype(float value, DType type) {
  switch (type) {
    case DType::BF16: return bf16_to_f32(f32_to_bf16(value));
    case DType::F16: return f16_to_f32(f32_to_f16(value));
    default: return value;
  }
}

}  // namespace gemma4
