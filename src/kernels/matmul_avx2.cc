// AVX2 + FMA matrix products, for x86-64 CPUs without AVX-512 (e.g. Zen 2/3): float32 arithmetic on
// weights widened in registers (BF16) or decoded per block of rows (quantized types), and an int8 path
// for Q8_0 / Q4_0 decoding. Compiled for those instructions per function; chosen at run time.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/matmul_int8_rows.h"
#include "kernels/matmul_simd.h"

#define GEMMA4_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace gemma4::kernels::simd {
namespace {

constexpr int kTileRows = 4;
// The int8 matrix-vector product (decoding) streams one weight row at a time with too little work per
// byte to keep enough cache misses in flight: fetching 2 KiB ahead lifts a Zen 3 core from ~13 to ~18
// GB/s, two cores from ~23 to ~31 GB/s (prefetches past the end of a matrix never fault). The float
// tiles read 4 rows at once and gain nothing from it.
constexpr int64_t kPrefetchBytes = 2048;
constexpr int kTileTokens = 3;  // 4 x 3 accumulators + 3 activations + 1 weight vector = 16 ymm

GEMMA4_TARGET_AVX2 inline __m256 load_weights(const float* p) { return _mm256_loadu_ps(p); }
GEMMA4_TARGET_AVX2 inline __m256 load_weights(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));  // bf16 bits are the top half of a float32
}

GEMMA4_TARGET_AVX2 inline float horizontal_sum(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

// y[t * ldy + r] = sum_k w[r * ldw + k] * x[t * ldx + k], r < R, t < T; the first k8 = cols/8*8 values
// vectorised, the rest scalar.
template <typename W, int R, int T>
GEMMA4_TARGET_AVX2 void tile(const W* w, int64_t ldw, const float* x, int64_t ldx, int64_t cols, float* y,
                             int64_t ldy) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t k8 = cols / 8 * 8;
  for (int64_t k = 0; k < k8; k += 8) {
    __m256 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x + t * ldx + k);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = load_weights(w + r * ldw + k);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int r = 0; r < R; ++r) {
      float sum = horizontal_sum(acc[r][t]);
      for (int64_t k = k8; k < cols; ++k) {
        float weight;
        if constexpr (sizeof(W) == 2) {
          weight = bf16_to_f32(w[r * ldw + k]);
        } else {
          weight = w[r * ldw + k];
        }
        sum += weight * x[t * ldx + k];
      }
      y[t * ldy + r] = sum;
    }
  }
}

template <typename W>
using TileFn = void (*)(const W*, int64_t, const float*, int64_t, int64_t, float*, int64_t);

template <typename W, int R>
TileFn<W> tile_for_tokens(int t) {
  switch (t) {
    case 1: return &tile<W, R, 1>;
    case 2: return &tile<W, R, 2>;
    default: return &tile<W, R, 3>;
  }
}

template <typename W>
TileFn<W> tile_for(int rows, int tokens) {
  switch (rows) {
    case 1: return tile_for_tokens<W, 1>(tokens);
    case 2: return tile_for_tokens<W, 2>(tokens);
    case 3: return tile_for_tokens<W, 3>(tokens);
    default: return tile_for_tokens<W, 4>(tokens);
  }
}

// One token (decoding): 8 rows per tile, 8 weight streams in flight; measured on a Zen 3 with both
// cores streaming BF16 from memory, ~24 GB/s against ~18 GB/s with 4 rows.
template <typename W>
void gemv_block(const W* w, int64_t ldw, int64_t rows, const float* x, int64_t cols, float* y) {
  int64_t r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) tile<W, 8, 1>(w + r0 * ldw, ldw, x, cols, cols, y + r0, 1);
  for (; r0 < rows; r0 += kTileRows) {
    tile_for<W>(static_cast<int>(std::min<int64_t>(kTileRows, rows - r0)), 1)(w + r0 * ldw, ldw, x, cols, cols, y + r0, 1);
  }
}

// Rows [0, rows) of w against every token; tokens outer so the block of rows stays in L2.
template <typename W>
void gemm_block(const W* w, int64_t ldw, int64_t rows, const float* x, int64_t n, int64_t cols, float* y,
                int64_t ldy) {
  for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
    const int tokens = static_cast<int>(std::min<int64_t>(kTileTokens, n - t0));
    const TileFn<W> full = tile_for<W>(kTileRows, tokens);
    int64_t r0 = 0;
    for (; r0 + kTileRows <= rows; r0 += kTileRows) full(w + r0 * ldw, ldw, x + t0 * cols, cols, cols, y + t0 * ldy + r0, ldy);
    if (r0 < rows) {
      tile_for<W>(static_cast<int>(rows - r0), tokens)(w + r0 * ldw, ldw, x + t0 * cols, cols, cols,
                                                       y + t0 * ldy + r0, ldy);
    }
  }
}

int64_t rows_per_block(int64_t row_bytes) {
  const int64_t rows = (192 * 1024) / row_bytes;
  return std::clamp<int64_t>(rows / kTileRows * kTileRows, kTileRows, 512);
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, 2);
  return value;
}

// Per block of 32: scale = max|x| / 127, q = round(x / scale) in [-127, 127].
GEMMA4_TARGET_AVX2 void quantize_activations(const float* x, int64_t cols, int8_t* q, float* scales) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < cols / 32; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + b * 32 + i * 8);
      amax = _mm256_max_ps(amax, _mm256_and_ps(v[i], abs_mask));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float scale = _mm_cvtss_f32(m) / 127.0f;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[b] = scale;
    const __m256 inv = _mm256_set1_ps(inverse);
    __m256i i32[4];
    for (int i = 0; i < 4; ++i) i32[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], inv));
    // Pack 32 int32 -> 32 int8; the packs interleave 128-bit lanes, the permute restores the order.
    const __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]);
    const __m256i i16b = _mm256_packs_epi32(i32[2], i32[3]);
    const __m256i i8 = _mm256_packs_epi16(i16a, i16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), ordered);
  }
}

GEMMA4_TARGET_AVX2 inline __m256i load_q4_0(const uint8_t* nibbles) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nibbles));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}

// 32 signed weights . 32 signed activations as 8 float32 partial sums. maddubs takes unsigned x signed
// bytes, so it gets |x| and w * sign(x); its int16 pair sums cannot overflow (2 * 127 * 127 < 32768).
GEMMA4_TARGET_AVX2 inline __m256 block_dot(__m256i w, __m256i x) {
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

template <bool kQ4>
GEMMA4_TARGET_AVX2 float dot_row(const uint8_t* row, const int8_t* xq, const float* xs, int64_t blocks) {
  constexpr int kBlockBytes = kQ4 ? 18 : 34;
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const uint8_t* b0 = row + b * kBlockBytes;
    const uint8_t* b1 = b0 + kBlockBytes;
    _mm_prefetch(reinterpret_cast<const char*>(b0 + kPrefetchBytes), _MM_HINT_T0);
    const __m256i w0 = kQ4 ? load_q4_0(b0 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
    const __m256i w1 = kQ4 ? load_q4_0(b1 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2));
    const __m256 d0 = block_dot(w0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32)));
    const __m256 d1 = block_dot(w1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32 + 32)));
    acc0 = _mm256_fmadd_ps(d0, _mm256_set1_ps(_cvtsh_ss(load_u16(b0)) * xs[b]), acc0);
    acc1 = _mm256_fmadd_ps(d1, _mm256_set1_ps(_cvtsh_ss(load_u16(b1)) * xs[b + 1]), acc1);
  }
  for (; b < blocks; ++b) {
    const uint8_t* b0 = row + b * kBlockBytes;
    const __m256i w0 = kQ4 ? load_q4_0(b0 + 2) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
    const __m256 d0 = block_dot(w0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32)));
    acc0 = _mm256_fmadd_ps(d0, _mm256_set1_ps(_cvtsh_ss(load_u16(b0)) * xs[b]), acc0);
  }
  return horizontal_sum(_mm256_add_ps(acc0, acc1));
}

// Weights read where they are stored (BF16 widened in registers, F32 as is): one token through
// 8-row tiles with rows claimed in chunks; prompts through blocks of rows that stay in L2.
template <typename W>
void matmul_in_place(const W* weights, int64_t out_features, int64_t cols, const float* x, int64_t n, float* y,
                     ThreadPool& pool) {
  const int64_t block = rows_per_block(cols * static_cast<int64_t>(sizeof(W)));
  const int64_t groups = (out_features + kTileRows - 1) / kTileRows;
  parallel_rows(
      pool, groups, double(n) * out_features * cols,
      [&](int64_t begin, int64_t end) {
        const int64_t first = begin * kTileRows;
        const int64_t last = std::min(out_features, end * kTileRows);
        if (n == 1) {
          gemv_block(weights + first * cols, cols, last - first, x, cols, y + first);
          return;
        }
        for (int64_t r0 = first; r0 < last; r0 += block) {
          gemm_block(weights + r0 * cols, cols, std::min(block, last - r0), x, n, cols, y + r0, out_features);
        }
      },
      /*balanced=*/n == 1);
}

}  // namespace

void matmul_bf16_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  matmul_in_place(reinterpret_cast<const uint16_t*>(w.data), w.rows(), w.cols(), x, n, y, pool);
}

void matmul_decoded_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t block = rows_per_block(cols * 4);
  const int64_t groups = (out_features + kTileRows - 1) / kTileRows;
  parallel_rows(pool, groups, double(n) * out_features * cols, [&](int64_t begin, int64_t end) {
    static thread_local std::vector<float> decoded;
    if (decoded.size() < static_cast<size_t>(block * cols)) decoded.resize(static_cast<size_t>(block * cols));
    const int64_t first = begin * kTileRows;
    const int64_t last = std::min(out_features, end * kTileRows);
    for (int64_t r0 = first; r0 < last; r0 += block) {
      const int64_t rows = std::min(block, last - r0);
      for (int64_t r = 0; r < rows; ++r) dequantize_row(w, r0 + r, decoded.data() + r * cols);
      gemm_block(decoded.data(), cols, rows, x, n, cols, y + r0, out_features);
    }
  });
}

void matmul_q8_q4_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  matmul_int8_rows(x, n, w, y, pool, &quantize_activations,
                   w.dtype == DType::Q4_0 ? &dot_row<true> : &dot_row<false>);
}

void matmul_f32_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  matmul_in_place(w.f32(), w.rows(), w.cols(), x, n, y, pool);
}

}  // namespace gemma4::kernels::simd
