// One weight matrix as the training pass sees it: the stored (frozen) matrix in its stored type, or a
// float32 FullParameter in its place, plus an optional LoRA update, W_eff = W + scale * B A. Forward
// products use the inference kernels (kernels::matmul); the backward reads W row by row.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "train/gradients.h"

namespace gemma4::train {

struct MatrixParam {
  TensorView weight;            // [out, in] (stored, or an F32 view of a FullParameter's value)
  float* weight_grad = nullptr;  // [out, in] when the matrix is a FullParameter being differentiated
  const LoraParameter* lora = nullptr;
  float* lora_grad_a = nullptr;  // [rank, in]
  float* lora_grad_b = nullptr;  // [out, rank]

  bool empty() const { return weight.empty(); }
  int64_t out() const { return weight.rows(); }
  int64_t in() const { return weight.cols(); }
  // Whether a backward pass has any weight gradient to accumulate here.
  bool differentiated() const { return weight_grad != nullptr || lora_grad_a != nullptr; }
  // Matrix `index` of a bank [E, out, in] (a MoE layer's experts); LoRA on banks is rejected at binding.
  MatrixParam slice(int64_t index) const;
};

// Trainable vectors (norm weights, scales) and layer_scalar (size 1).
struct VectorParam {
  const float* value = nullptr;
  float* grad = nullptr;  // null when frozen
  int64_t size = 0;
};

// y[n, out] = x[n, in] . W_eff^T
void matrix_forward(const MatrixParam& m, const float* x, int64_t n, float* y);
// Adds dy . W_eff to dx [n, in] (dx may be null) and d(loss)/d(parameters) to the gradients, given the
// forward input x [n, in] and dy [n, out].
void matrix_backward(const MatrixParam& m, const float* x, const float* dy, int64_t n, float* dx);
// Row `row` of W_eff (embedding lookups) and its backward (adds only into the parameters' gradients).
void matrix_row(const MatrixParam& m, int64_t row, float* out);
void matrix_row_backward(const MatrixParam& m, int64_t row, const float* drow);

// dx[n, in] += dy[n, out] . W for W [out, in] in its stored type (decoded a tile of rows at a time,
// float32 accumulation), over the global thread pool.
void add_matmul_transposed(const float* dy, int64_t n, const TensorView& w, float* dx);
// dw[out, in] += dy[n, out]^T . x[n, in], over the global thread pool.
void add_outer_products(const float* dy, const float* x, int64_t n, int64_t out, int64_t in, float* dw);

}  // namespace gemma4::train
