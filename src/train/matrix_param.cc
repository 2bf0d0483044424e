#include "train/matrix_param.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace gemma4::train {
namespace {

TensorView f32_view(const float* data, int64_t rows, int64_t cols) {
  TensorView view;
  view.dtype = DType::F32;
  view.shape = {rows, cols};
  view.data = reinterpret_cast<const uint8_t*>(data);
  view.nbytes = static_cast<size_t>(rows * cols) * sizeof(float);
  return view;
}

constexpr int64_t kTileRows = 16;  // weight rows decoded together: reused across every token row

}  // namespace

MatrixParam MatrixParam::slice(int64_t index) const {
  MatrixParam part;
  part.weight = weight.slice0(index);
  if (weight_grad) part.weight_grad = weight_grad + index * part.weight.rows() * part.weight.cols();
  return part;
}

void add_matmul_transposed(const float* dy, int64_t n, const TensorView& w, float* dx) {
  const int64_t out = w.rows(), in = w.cols();
  if (n <= 0 || out <= 0) return;
  ThreadPool& pool = ThreadPool::global();
  const int threads = static_cast<int>(std::min<int64_t>(pool.num_threads(), n));
  pool.parallel_for(threads, [&](int64_t first_slice, int64_t last_slice) {
    std::vector<float> tile(w.dtype == DType::F32 ? 0 : static_cast<size_t>(kTileRows * in));
    for (int64_t slice = first_slice; slice < last_slice; ++slice) {
      int64_t begin, end;
      ThreadPool::split(n, threads, static_cast<int>(slice), &begin, &end);
      for (int64_t o0 = 0; o0 < out; o0 += kTileRows) {
        const int64_t count = std::min(kTileRows, out - o0);
        const float* rows;
        if (w.dtype == DType::F32) {
          rows = w.f32() + o0 * in;
        } else {
          for (int64_t r = 0; r < count; ++r) kernels::dequantize_row(w, o0 + r, tile.data() + r * in);
          rows = tile.data();
        }
        for (int64_t t = begin; t < end; ++t) {
          const float* g = dy + t * out + o0;
          float* target = dx + t * in;
          for (int64_t r = 0; r < count; ++r) {
            if (g[r] != 0.0f) kernels::axpy(g[r], rows + r * in, target, in);
          }
        }
      }
    }
  });
}

void add_outer_products(const float* dy, const float* x, int64_t n, int64_t out, int64_t in, float* dw) {
  if (n <= 0 || out <= 0) return;
  ThreadPool::global().parallel_for(out, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      float* row = dw + o * in;
      for (int64_t t = 0; t < n; ++t) {
        const float g = dy[t * out + o];
        if (g != 0.0f) kernels::axpy(g, x + t * in, row, in);
      }
    }
  });
}

void matrix_forward(const MatrixParam& m, const float* x, int64_t n, float* y) {
  kernels::matmul(x, n, m.weight, y);
  if (m.lora == nullptr || n <= 0) return;
  const LoraParameter& lora = *m.lora;
  const int64_t out = m.out();
  std::vector<float> u(static_cast<size_t>(n * lora.rank)), delta(static_cast<size_t>(n * out));
  kernels::matmul(x, n, f32_view(lora.a.data(), lora.rank, lora.in), u.data());
  kernels::matmul(u.data(), n, f32_view(lora.b.data(), out, lora.rank), delta.data());
  for (int64_t i = 0; i < n * out; ++i) y[i] += lora.scale * delta[i];
}

void matrix_backward(const MatrixParam& m, const float* x, const float* dy, int64_t n, float* dx) {
  if (n <= 0) return;
  if (dx) add_matmul_transposed(dy, n, m.weight, dx);
  if (m.weight_grad) add_outer_products(dy, x, n, m.out(), m.in(), m.weight_grad);
  if (m.lora == nullptr) return;
  const LoraParameter& lora = *m.lora;
  const int64_t rank = lora.rank, out = m.out(), in = m.in();
  const TensorView a = f32_view(lora.a.data(), rank, in);
  const TensorView b = f32_view(lora.b.data(), out, rank);
  // u = x A^T; y += s u B^T. So dB += s dy^T u, du = s dy B, dA += du^T x, dx += du A.
  std::vector<float> u(static_cast<size_t>(n * rank)), du(static_cast<size_t>(n * rank), 0.0f);
  add_matmul_transposed(dy, n, b, du.data());
  for (float& value : du) value *= lora.scale;
  if (m.lora_grad_b) {
    kernels::matmul(x, n, a, u.data());
    std::vector<float> scaled_dy(dy, dy + n * out);
    for (float& value : scaled_dy) value *= lora.scale;
    add_outer_products(scaled_dy.data(), u.data(), n, out, rank, m.lora_grad_b);
  }
  if (m.lora_grad_a) add_outer_products(du.data(), x, n, rank, in, m.lora_grad_a);
  if (dx) add_matmul_transposed(du.data(), n, a, dx);
}

void matrix_row(const MatrixParam& m, int64_t row, float* out) {
  kernels::dequantize_row(m.weight, row, out);
  if (m.lora == nullptr) return;
  const LoraParameter& lora = *m.lora;
  for (int64_t r = 0; r < lora.rank; ++r) {
    const float factor = lora.scale * lora.b[static_cast<size_t>(row * lora.rank + r)];
    kernels::axpy(factor, lora.a.data() + r * lora.in, out, lora.in);
  }
}

void matrix_row_backward(const MatrixParam& m, int64_t row, const float* drow) {
  const int64_t in = m.in();
  if (m.weight_grad) kernels::axpy(1.0f, drow, m.weight_grad + row * in, in);
  if (m.lora == nullptr) return;
  const LoraParameter& lora = *m.lora;
  for (int64_t r = 0; r < lora.rank; ++r) {
    const float* a_row = lora.a.data() + r * in;
    const float b = lora.b[static_cast<size_t>(row * lora.rank + r)];
    if (m.lora_grad_b) m.lora_grad_b[row * lora.rank + r] += lora.scale * kernels::dot(a_row, drow, in);
    if (m.lora_grad_a) kernels::axpy(lora.scale * b, drow, m.lora_grad_a + r * in, in);
  }
}

}  // namespace gemma4::train
