// The SIMD matrix-product kernels behind kernels::matmul, each compiled for its own instruction set
// (GCC target attributes) and only called when cpu_features() says the CPU has it.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace gemma4::kernels::simd {

// y[n, out] = x[n, in] . W^T with W in BF16, through vdpbf16ps. The activations are rounded to bf16
// (round to nearest even); products are exact and summed in float32.
// Needs cpu_features().avx512_bf16.
void matmul_bf16_avx512(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

// The same product for weights of any type that dequantize_row decodes: blocks of rows are decoded to
// float32, rounded to bf16 into a per-thread buffer and multiplied there. For prompts (n large), where
// decoding each row once per block of rows is cheap next to the n products per row.
void matmul_decoded_bf16_avx512(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

// y = x . W^T with W in Q8_0 or Q4_0, for a few rows of x (decoding): x is quantized to int8 per
// block of 32 with a float scale (as llama.cpp's Q8_0 activations), and each block's integer dot
// product runs through vpdpbusd. Needs cpu_features().avx512_vnni.
void matmul_q8_q4_vnni(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

// AVX2 + FMA versions, for CPUs without AVX-512 (need cpu_features().avx2):
// BF16 weights widened to float32 in registers (float32 products, exact as the reference's inputs);
void matmul_bf16_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);
// any weight type, decoded to float32 per block of rows (for prompts);
void matmul_decoded_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);
// Q8_0 / Q4_0 with int8 activations per block of 32 (as matmul_q8_q4_vnni, through vpmaddubsw).
void matmul_q8_q4_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

// Q4_K, Q5_K, Q6_K, IQ4_XS, Q5_0, IQ4_NL weights read in place, activations quantized to int8 per weight
// block (as llama.cpp's vec_dot with q8_K / q8_0), integer block dot products (matmul_kquants_avx2.cc).
// Needs AVX2; `vnni` uses the AVX-512 VNNI variant where the CPU has it (false: the AVX2 one, for tests).
bool has_int8_kquant_avx2(DType type);
void matmul_int8_kquant_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool,
                             bool vnni = true);

// float32 weights.
void matmul_f32_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);
// Any weight type for prompts (many rows of x): panels of 16 weight rows decoded to float32 and
// transposed once per chunk of columns, then reused by tiles of 6 tokens (matmul_avx2_packed.cc).
void matmul_packed_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

// pool.parallel_for, or fn(0, count) on this thread when the product has fewer than ~64K multiply-adds:
// waking a worker costs more than such a product (norm-sized vectors, tiny test models). `balanced`:
// the rows are claimed in chunks (pool.parallel_for_balanced), for memory-bound matrix-vector products.
template <typename Fn>
void parallel_rows(ThreadPool& pool, int64_t count, double multiply_adds, const Fn& fn, bool balanced = false);

// Float32 activations to bf16 bits (round to nearest even), zero-padding [count, padded_count).
void f32_to_bf16_padded(const float* x, int64_t count, uint16_t* out, int64_t padded_count);

template <typename Fn>
void parallel_rows(ThreadPool& pool, int64_t count, double multiply_adds, const Fn& fn, bool balanced) {
  if (multiply_adds < 65536.0) {
    fn(int64_t{0}, count);
  } else if (balanced) {
    pool.parallel_for_balanced(count, 8, fn);
  } else {
    pool.parallel_for(count, fn);
  }
}

}  // namespace gemma4::kernels::simd
