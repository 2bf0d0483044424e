// dot and axpy for attention-sized vectors (head_dim 256/512), GELU-tanh over activation rows and the
// tanh soft cap over logit rows, chosen at run time.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu_features.h"
#include "kernels/ops.h"

namespace gemma4::kernels {
namespace {

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  const __m256 sum = _mm256_add_ps(acc0, acc1);
  __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
  half = _mm_add_ps(half, _mm_movehl_ps(half, half));
  float result = _mm_cvtss_f32(_mm_add_ss(half, _mm_movehdup_ps(half)));
  for (; i < n; ++i) result += a[i] * b[i];
  return result;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

// exp(v) in float32 for v clamped to [-87.3, 88.3] (so 2^n stays a normal float): v = n ln2 + r with
// |r| <= ln2/2 (ln2 split in two so n ln2 is exact), exp(r) by its degree-7 Taylor polynomial (the first
// omitted term is below 6e-9 of the result), times 2^n built in the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp_avx2(__m256 v) {
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);  // 355/512: n * this is exact
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);      // ln2 - 355/512
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(two_n));
}

// GELU-tanh through the identity 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
// no cancellation for negative x (where 1 + tanh(u) would lose the digits that matter).
__attribute__((target("avx2,fma"))) inline __m256 gelu_tanh_vec(__m256 x) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x2, _mm256_set1_ps(1.0f));
  const __m256 minus_2u = _mm256_mul_ps(_mm256_mul_ps(x, inner), _mm256_set1_ps(-2.0f * 0.7978845608028654f));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), exp_avx2(minus_2u)));
}

// a = gelu_tanh(a) (* b when b is not null); the tail runs the same vector code through masked lanes.
__attribute__((target("avx2,fma"))) void gelu_tanh_avx2(float* a, const float* b, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = gelu_tanh_vec(_mm256_loadu_ps(a + i));
    if (b) g = _mm256_mul_ps(g, _mm256_loadu_ps(b + i));
    _mm256_storeu_ps(a + i, g);
  }
  if (i < n) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 g = gelu_tanh_vec(_mm256_maskload_ps(a + i, mask));
    if (b) g = _mm256_mul_ps(g, _mm256_maskload_ps(b + i, mask));
    _mm256_maskstore_ps(a + i, mask, g);
  }
}

// cap * tanh(x / cap) as cap * sign(x) * (1 - 2 / (1 + exp(2|x| / cap))): no overflow for large |x|
// (the exponent is clamped, the fraction goes to 0); near 0 the subtraction costs ~1e-7 of cap in
// absolute terms, far below a logit's own rounding.
__attribute__((target("avx2,fma"))) void soft_cap_avx2(float* x, int64_t n, float cap) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 two_over_cap = _mm256_set1_ps(2.0f / cap);
  const __m256 cap_v = _mm256_set1_ps(cap);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 two = _mm256_set1_ps(2.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sign = _mm256_and_ps(v, sign_mask);
    const __m256 e = exp_avx2(_mm256_mul_ps(_mm256_andnot_ps(sign_mask, v), two_over_cap));
    const __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(one, e)));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(cap_v, _mm256_or_ps(t, sign)));
  }
  for (; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace

void soft_cap_inplace(float* x, int64_t n, float cap) {
  if (cpu_features().avx2) {
    soft_cap_avx2(x, n, cap);
    return;
  }
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

float dot(const float* a, const float* b, int64_t n) {
  if (cpu_features().avx2) return dot_avx2(a, b, n);
  float partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int lane = 0; lane < 8; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  float sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (float p : partial) sum += p;
  return sum;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  if (cpu_features().avx2) {
    axpy_avx2(alpha, x, y, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void gelu_tanh_inplace(float* x, int64_t n) {
  if (cpu_features().avx2) {
    gelu_tanh_avx2(x, nullptr, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
}

void gelu_tanh_mul(float* a, const float* b, int64_t n) {
  if (cpu_features().avx2) {
    gelu_tanh_avx2(a, b, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) a[i] = gelu_tanh(a[i]) * b[i];
}

}  // namespace gemma4::kernels
