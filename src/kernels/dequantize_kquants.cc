// ggml k-quant decoders (Q4_K, Q6_K): super-blocks of 256 values.
#include <gemma4/error.h>

#include <cstring>

#include "core/dtype.h"

namespace gemma4::kernels {

void dequantize_q4_k(const uint8_t*, int64_t, float*) {
  throw Error("Q4_K decoding is not implemented yet");
}

void dequantize_q6_k(const uint8_t*, int64_t, float*) {
  throw Error("Q6_K decoding is not implemented yet");
}

}  // namespace gemma4::kernels
