// Row decoders for every storage type (block layouts as ggml defines them).
#include <gemma4/error.h>

#include <cstring>

#include "kernels/matmul.h"

namespace gemma4::kernels {
namespace {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, 2);
  return value;
}

void dequantize_q8_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block) {
    const uint8_t* b = data + block * 34;
    const float scale = f16_to_f32(load_u16(b));
    const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int i = 0; i < 32; ++i) out[block * 32 + i] = scale * static_cast<float>(q[i]);
  }
}

void dequantize_q4_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block) {
    const uint8_t* b = data + block * 18;
    const float scale = f16_to_f32(load_u16(b));
    const uint8_t* q = b + 2;
    for (int i = 0; i < 16; ++i) {
      out[block * 32 + i] = scale * static_cast<float>((q[i] & 0x0f) - 8);
      out[block * 32 + i + 16] = scale * static_cast<float>((q[i] >> 4) - 8);
    }
  }
}

}  // namespace

// Defined in dequantize_kquants.cc.
void dequantize_q4_k(const uint8_t* data, int64_t count, float* out);
void dequantize_q6_k(const uint8_t* data, int64_t count, float* out);

void dequantize(DType type, const uint8_t* data, int64_t count, float* out) {
  switch (type) {
    case DType::F32:
      std::memcpy(out, data, static_cast<size_t>(count) * 4);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < count; ++i) out[i] = bf16_to_f32(load_u16(data + 2 * i));
      return;
    case DType::F16:
      for (int64_t i = 0; i < count; ++i) out[i] = f16_to_f32(load_u16(data + 2 * i));
      return;
    case DType::Q8_0: dequantize_q8_0(data, count, out); return;
    case DType::Q4_0: dequantize_q4_0(data, count, out); return;
    case DType::Q4_K: dequantize_q4_k(data, count, out); return;
    case DType::Q6_K: dequantize_q6_k(data, count, out); return;
    default: throw Error(std::string("cannot use a tensor of type ") + dtype_name(type) + " as weights");
  }
}

void dequantize_row(const TensorView& w, int64_t row, float* out) {
  dequantize(w.dtype, w.data + static_cast<size_t>(row) * w.row_bytes(), w.cols(), out);
}

}  // namespace gemma4::kernels
