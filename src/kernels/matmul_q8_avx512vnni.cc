// Q8_0 / Q4_0 matrix-vector products through AVX-512 VNNI (vpdpbusd), for decoding: the activations
// are quantized to int8 per block of 32 (one float scale each), so every block's dot product is an
// exact integer sum, scaled once by (weight scale x activation scale) and accumulated in float32.
// GCC 12 warns inside its own AVX-512 reduction intrinsics (an intentionally undefined register).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul_int8_rows.h"
#include "kernels/matmul_simd.h"

#define GEMMA4_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

namespace gemma4::kernels::simd {
namespace {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, 2);
  return value;
}

// Per block of 32: scale = max|x| / 127, q = round(x / scale) in [-127, 127] (never -128, which the
// sign trick below could not negate).
GEMMA4_TARGET_VNNI void quantize_activations(const float* x, int64_t cols, int8_t* q, float* scales) {
  const __m512 sign_off = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < cols / 32; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32);
    const __m512 v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const __m512 a = _mm512_max_ps(_mm512_and_ps(v0, sign_off), _mm512_and_ps(v1, sign_off));
    const float amax = _mm512_reduce_max_ps(a);
    const float scale = amax / 127.0f;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[b] = scale;
    const __m512 inv = _mm512_set1_ps(inverse);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inv));  // round to nearest even
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
  }
}

// Integer dot products of 32 signed weights with 32 signed activations, as 8 int32 partial sums:
// vpdpbusd multiplies unsigned by signed bytes, so it gets |x| and w * sign(x).
GEMMA4_TARGET_VNNI inline __m256i block_dot(__m256i w, __m256i x) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
}

GEMMA4_TARGET_VNNI inline __m256i load_q4_0(const uint8_t* nibbles) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nibbles));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);  // high nibbles: elements 16..31
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}

template <bool kQ4>
GEMMA4_TARGET_VNNI float dot_row(const uint8_t* row, const int8_t* xq, const float* xs, int64_t blocks) {
  constexpr int kBlockBytes = kQ4 ? 18 : 34;
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const uint8_t* b0 = row + b * kBlockBytes;
    const uint8_t* b1 = b0 + kBlockBytes;
    const __m256i w0 = kQ4 ? load_q4_0(b0 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
    const __m256i w1 = kQ4 ? load_q4_0(b1 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2));
    const __m256i d0 = block_dot(w0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32)));
    const __m256i d1 = block_dot(w1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32 + 32)));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(_cvtsh_ss(load_u16(b0)) * xs[b]), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1), _mm256_set1_ps(_cvtsh_ss(load_u16(b1)) * xs[b + 1]), acc1);
  }
  for (; b < blocks; ++b) {
    const uint8_t* b0 = row + b * kBlockBytes;
    const __m256i w0 = kQ4 ? load_q4_0(b0 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
    const __m256i d0 = block_dot(w0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32)));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(_cvtsh_ss(load_u16(b0)) * xs[b]), acc0);
  }
  const __m256 sum = _mm256_add_ps(acc0, acc1);
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

}  // namespace

void matmul_q8_q4_vnni(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  matmul_int8_rows(x, n, w, y, pool, &quantize_activations,
                   w.dtype == DType::Q4_0 ? &dot_row<true> : &dot_row<false>);
}

}  // namespace gemma4::kernels::simd
