#include "kernels/quantize.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gemma4 {
namespace {

void store_f16(uint8_t* p, float value) {
  const uint16_t bits = f32_to_f16(value);
  std::memcpy(p, &bits, 2);
}

}  // namespace

void quantize_row_q8_0(const float* x, int64_t count, uint8_t* out) {
  dtype_row_bytes(DType::Q8_0, count);  // throws unless a whole number of blocks
  for (int64_t block = 0; block < count / 32; ++block) {
    const float* v = x + block * 32;
    uint8_t* b = out + block * 34;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int j = 0; j < 32; ++j) {
      const float scaled = v[j] * id;
      b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(scaled)));  // roundf: half away from zero
    }
  }
}

void quantize_row_q4_0(const float* x, int64_t count, uint8_t* out) {
  dtype_row_bytes(DType::Q4_0, count);
  for (int64_t block = 0; block < count / 32; ++block) {
    const float* v = x + block * 32;
    uint8_t* b = out + block * 18;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int j = 0; j < 16; ++j) {
      const float x0 = v[j] * id;
      const float x1 = v[16 + j] * id;
      // ggml: (int8_t)(x + 8.5f) truncates toward zero; x + 8.5 lies in [0.5, 16.5] here.
      const int q0 = std::min(15, static_cast<int>(x0 + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x1 + 8.5f));
      b[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void encode_row(DType type, const float* x, int64_t count, uint8_t* out) {
  switch (type) {
    case DType::F32: std::memcpy(out, x, static_cast<size_t>(count) * 4); return;
    case DType::F16:
      for (int64_t i = 0; i < count; ++i) store_f16(out + 2 * i, x[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < count; ++i) {
        const uint16_t bits = f32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &bits, 2);
      }
      return;
    case DType::Q8_0: quantize_row_q8_0(x, count, out); return;
    case DType::Q4_0: quantize_row_q4_0(x, count, out); return;
    default: throw Error(std::string("cannot encode float32 values as ") + dtype_name(type));
  }
}

std::vector<uint8_t> encode_matrix(DType type, const float* x, int64_t rows, int64_t cols) {
  const size_t row_bytes = dtype_row_bytes(type, cols);
  std::vector<uint8_t> out(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) encode_row(type, x + r * cols, cols, out.data() + r * row_bytes);
  return out;
}

}  // namespace gemma4
