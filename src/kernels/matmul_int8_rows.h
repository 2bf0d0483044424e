// The driver shared by the int8 matrix-vector kernels (AVX2 vpmaddubsw, AVX-512 VNNI): quantize each
// activation row per block of 32, then one dot product per (weight row, token), rows claimed in chunks
// across the pool. The per-instruction-set parts come in as function pointers.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/matmul_simd.h"

namespace gemma4::kernels::simd {

// x [cols] -> q [cols] int8 and scales [cols / 32].
using QuantizeActivationsFn = void (*)(const float* x, int64_t cols, int8_t* q, float* scales);
// One stored weight row (Q8_0 or Q4_0 blocks) . one quantized activation row.
using Int8DotFn = float (*)(const uint8_t* row, const int8_t* xq, const float* xs, int64_t blocks);

inline void matmul_int8_rows(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool,
                             QuantizeActivationsFn quantize, Int8DotFn dot) {
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t blocks = cols / 32;
  const size_t row_bytes = w.row_bytes();
  static thread_local std::vector<int8_t> xq;
  static thread_local std::vector<float> xs;
  xq.resize(static_cast<size_t>(n * cols));
  xs.resize(static_cast<size_t>(n * blocks));
  for (int64_t t = 0; t < n; ++t) quantize(x + t * cols, cols, xq.data() + t * cols, xs.data() + t * blocks);
  const int8_t* q = xq.data();
  const float* s = xs.data();
  parallel_rows(
      pool, out_features, double(n) * out_features * cols,
      [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          const uint8_t* row = w.data + static_cast<size_t>(o) * row_bytes;
          for (int64_t t = 0; t < n; ++t) y[t * out_features + o] = dot(row, q + t * cols, s + t * blocks, blocks);
        }
      },
      /*balanced=*/true);
}

}  // namespace gemma4::kernels::simd
