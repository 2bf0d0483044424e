#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul_gemm.h"
#include "kernels/matmul_simd.h"

namespace gemma4::kernels {
namespace {

// Dot product with eight independent partial sums so the compiler can vectorise it.
float dot_f32(const float* a, const float* b, int64_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int lane = 0; lane < 8; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int lane = 0; lane < 8; ++lane) sum += partial[lane];
  return sum;
}

// From this many activation rows on (prompts), weights are decoded once per block of rows and reused by
// every row of x: to bf16 for vdpbf16ps (AVX-512 BF16), or to float32 panels (AVX2, matmul_avx2_packed.cc);
// below it, each weight row is used straight from its stored form (int8 blocks through VNNI / vpmaddubsw,
// bf16 widened in registers).
constexpr int64_t kPromptRows = 8;
// On AVX2, from this many rows on decoded weights go through the packed float32 panels
// (matmul_avx2_packed.cc); below it decoding a panel per 256 columns costs more than it saves.
// BF16 and F32 weights stay on the tiles that read them in place (matmul_avx2.cc): measured per CPU
// second on a Zen 3 they are as fast as the packed path at every n.
constexpr int64_t kPackedRows = 32;

}  // namespace

void matmul(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool* pool) {
  const int64_t out_features = w.rows();
  const int64_t in_features = w.cols();
  if (pool == nullptr) pool = &ThreadPool::global();
  if (n <= 0 || out_features <= 0) return;
  const CpuFeatures& cpu = cpu_features();
  const bool int8_blocks = w.dtype == DType::Q8_0 || w.dtype == DType::Q4_0;
  // Prompts: the register- and cache-blocked GEMMs (matmul_gemm.h), int8 activations for Q8_0 / Q4_0.
  if (n >= kPromptRows && gemm::int8_supported(w.dtype) && in_features % 32 == 0 && (cpu.avx512_vnni || cpu.avx2)) {
    gemm::matmul_int8(x, n, w, y, *pool, cpu.avx512_vnni ? gemm::Isa::kAvx512 : gemm::Isa::kAvx2);
    return;
  }
  // BF16 / F16 / F32 on AVX-512 at every n (one summation order for decode and prompts).
  if (gemm::float_supported(w.dtype) && cpu.avx512 &&
      !(w.dtype == DType::BF16 && cpu.bf16_activations)) {
    gemm::matmul_float(x, n, w, y, *pool);
    return;
  }
  if (w.dtype == DType::BF16 && cpu.bf16_activations) {
    simd::matmul_bf16_avx512(x, n, w, y, *pool);
    return;
  }
  if (int8_blocks && n < kPromptRows && cpu.avx512_vnni) {
    simd::matmul_q8_q4_vnni(x, n, w, y, *pool);
    return;
  }
  const bool quantized = int8_blocks || w.dtype == DType::Q4_K || w.dtype == DType::Q6_K;
  if (quantized && n >= kPromptRows && cpu.bf16_activations) {
    simd::matmul_decoded_bf16_avx512(x, n, w, y, *pool);
    return;
  }
  if (cpu.avx2) {
    // The k-quant / i-quant types of published GGUFs: integer kernels at every n (measured on a Q4_K_M
    // E2B-shaped file they beat the float32 panels for prompts too, and read memory ~5x faster decoding).
    if (simd::has_int8_kquant_avx2(w.dtype)) {
      simd::matmul_int8_kquant_avx2(x, n, w, y, *pool);
    } else if (w.dtype == DType::BF16) {
      simd::matmul_bf16_avx2(x, n, w, y, *pool);
    } else if (n >= kPackedRows && w.dtype != DType::F32) {
      simd::matmul_packed_avx2(x, n, w, y, *pool);
    } else if (int8_blocks && n < kPromptRows) {
      simd::matmul_q8_q4_avx2(x, n, w, y, *pool);
    } else if (w.dtype == DType::F32) {
      simd::matmul_f32_avx2(x, n, w, y, *pool);
    } else {
      simd::matmul_decoded_avx2(x, n, w, y, *pool);
    }
    return;
  }
  pool->parallel_for(out_features, [&](int64_t begin, int64_t end) {
    std::vector<float> row(w.dtype == DType::F32 ? 0 : static_cast<size_t>(in_features));
    for (int64_t o = begin; o < end; ++o) {
      const float* weights;
      if (w.dtype == DType::F32) {
        weights = w.f32() + o * in_features;
      } else {
        dequantize_row(w, o, row.data());
        weights = row.data();
      }
      for (int64_t t = 0; t < n; ++t) y[t * out_features + o] = dot_f32(x + t * in_features, weights, in_features);
    }
  });
}

void matmul_reference(const float* x, int64_t n, const TensorView& w, float* y) {
  const int64_t out_features = w.rows();
  const int64_t in_features = w.cols();
  std::vector<float> row(static_cast<size_t>(in_features));
  for (int64_t o = 0; o < out_features; ++o) {
    dequantize_row(w, o, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0.0;
      for (int64_t i = 0; i < in_features; ++i) sum += static_cast<double>(x[t * in_features + i]) * row[i];
      y[t * out_features + o] = static_cast<float>(sum);
    }
  }
}

}  // namespace gemma4::kernels
