// Row decoders for every storage type: the dispatch, plain types and Q8_0 / Q4_0 (block layouts as ggml
// defines them; the other block types are in dequantize_legacy.cc, dequantize_kquants.cc and
// dequantize_iquants.cc).
#include <gemma4/error.h>

#include <cstring>
#include <string>

#include "kernels/dequantize_blocks.h"
#include "kernels/matmul.h"

namespace gemma4::kernels {

void dequantize_q8_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block) {
    const uint8_t* b = data + block * 34;
    const float scale = load_f16(b);
    const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int i = 0; i < 32; ++i) out[block * 32 + i] = static_cast<float>(q[i]) * scale;
  }
}

void dequantize_q4_0(const uint8_t* data, int64_t count, float* out) {
  for (int64_t block = 0; block < count / 32; ++block) {
    const uint8_t* b = data + block * 18;
    const float scale = load_f16(b);
    const uint8_t* q = b + 2;
    for (int i = 0; i < 16; ++i) {
      out[block * 32 + i] = static_cast<float>((q[i] & 0x0f) - 8) * scale;
      out[block * 32 + i + 16] = static_cast<float>((q[i] >> 4) - 8) * scale;
    }
  }
}

BlockDecoder block_decoder(DType type) {
  switch (type) {
    case DType::Q8_0: return &dequantize_q8_0;
    case DType::Q4_0: return &dequantize_q4_0;
    case DType::Q4_1: return &dequantize_q4_1;
    case DType::Q5_0: return &dequantize_q5_0;
    case DType::Q5_1: return &dequantize_q5_1;
    case DType::IQ4_NL: return &dequantize_iq4_nl;
    case DType::MXFP4: return &dequantize_mxfp4;
    case DType::NVFP4: return &dequantize_nvfp4;
    case DType::Q1_0: return &dequantize_q1_0;
    case DType::Q2_0: return &dequantize_q2_0;
    case DType::Q2_K: return &dequantize_q2_k;
    case DType::Q3_K: return &dequantize_q3_k;
    case DType::Q4_K: return &dequantize_q4_k;
    case DType::Q5_K: return &dequantize_q5_k;
    case DType::Q6_K: return &dequantize_q6_k;
    case DType::TQ1_0: return &dequantize_tq1_0;
    case DType::TQ2_0: return &dequantize_tq2_0;
    case DType::IQ1_S: return &dequantize_iq1_s;
    case DType::IQ1_M: return &dequantize_iq1_m;
    case DType::IQ2_XXS: return &dequantize_iq2_xxs;
    case DType::IQ2_XS: return &dequantize_iq2_xs;
    case DType::IQ2_S: return &dequantize_iq2_s;
    case DType::IQ3_XXS: return &dequantize_iq3_xxs;
    case DType::IQ3_S: return &dequantize_iq3_s;
    case DType::IQ4_XS: return &dequantize_iq4_xs;
    default: return nullptr;
  }
}

void dequantize(DType type, const uint8_t* data, int64_t count, float* out) {
  if (count <= 0) return;  // an empty tensor: nothing to read (its data and out may be null)
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
    default: break;
  }
  const BlockDecoder decode = block_decoder(type);
  if (decode == nullptr) throw Error(std::string("cannot use a tensor of type ") + dtype_name(type) + " as weights");
  if (count % dtype_block_elems(type) != 0) {
    throw Error(std::string(dtype_name(type)) + " data must hold a whole number of " +
                std::to_string(dtype_block_elems(type)) + "-value blocks (got " + std::to_string(count) + " values)");
  }
  decode(data, count, out);
}

void dequantize_row(const TensorView& w, int64_t row, float* out) {
  dequantize(w.dtype, w.data + static_cast<size_t>(row) * w.row_bytes(), w.cols(), out);
}

}  // namespace gemma4::kernels
