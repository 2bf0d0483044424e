// Matrix products with weights in their stored type. Nothing here knows about Gemma.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace gemma4 {
class ThreadPool;
}

namespace gemma4::kernels {

// y[n, out] = x[n, in] . W^T, for W viewed as [out, in] (its last dimension is `in`), float32 accumulation.
// Uses the fastest kernel the CPU supports for W's dtype, and the given pool (null: the global pool).
void matmul(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool* pool = nullptr);

// The plain reference twin of matmul: decode each weight row to float32, dot product in double.
void matmul_reference(const float* x, int64_t n, const TensorView& w, float* y);

// Decodes row `row` of W (viewed as [rows, cols]) to float32.
void dequantize_row(const TensorView& w, int64_t row, float* out);

// Decodes `count` elements of one row laid out in `type` (a whole number of blocks) to float32.
void dequantize(DType type, const uint8_t* data, int64_t count, float* out);

}  // namespace gemma4::kernels
