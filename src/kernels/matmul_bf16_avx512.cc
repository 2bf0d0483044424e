// BF16 matrix products through AVX-512 BF16 (vdpbf16ps), and the prompt-sized product for decoded
// (quantized) weights that reuses the same tiles. Compiled for those instructions per function; the
// dispatcher in matmul.cc only calls in here when the CPU has them.
// GCC 12 warns inside its own AVX-512 reduction intrinsics (an intentionally undefined register).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/matmul_simd.h"

#define GEMMA4_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))

namespace gemma4::kernels::simd {
namespace {

constexpr int kTileRows = 4;    // weight rows per register tile
constexpr int kTileTokens = 6;  // activation rows per register tile (4 x 6 accumulators + 5 loads fit 32 zmm)

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// One register tile: y[t * ldy + r] = sum_k w[r * ldw + k] * x[t * ldx + k] for r < R, t < T.
// `k_full` bf16 values per row are read whole (a multiple of 32); `k_tail` < 32 more are read masked
// from w, while x is zero-padded there.
template <int R, int T>
GEMMA4_TARGET_BF16 void tile(const uint16_t* w, int64_t ldw, const uint16_t* x, int64_t ldx, int64_t k_full,
                             int64_t k_tail, float* y, int64_t ldy) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t k = 0; k < k_full; k += 32) {
    __m512i wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm512_loadu_si512(w + r * ldw + k);
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_loadu_si512(x + t * ldx + k);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], (__m512bh)wv[r], (__m512bh)xv);
    }
  }
  if (k_tail > 0) {
    const __mmask32 mask = (k_tail >= 32) ? ~__mmask32(0) : ((__mmask32(1) << k_tail) - 1);
    __m512i wv[R];
    for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_epi16(mask, w + r * ldw + k_full);
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_maskz_loadu_epi16(mask, x + t * ldx + k_full);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], (__m512bh)wv[r], (__m512bh)xv);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

using TileFn = void (*)(const uint16_t*, int64_t, const uint16_t*, int64_t, int64_t, int64_t, float*, int64_t);

template <int R>
constexpr TileFn tile_for_tokens(int t) {
  switch (t) {
    case 1: return &tile<R, 1>;
    case 2: return &tile<R, 2>;
    case 3: return &tile<R, 3>;
    case 4: return &tile<R, 4>;
    case 5: return &tile<R, 5>;
    default: return &tile<R, 6>;
  }
}

TileFn tile_for(int rows, int tokens) {
  switch (rows) {
    case 1: return tile_for_tokens<1>(tokens);
    case 2: return tile_for_tokens<2>(tokens);
    case 3: return tile_for_tokens<3>(tokens);
    default: return tile_for_tokens<4>(tokens);
  }
}

// y[t * ldy + r] for rows [0, rows) of w against every token of x; tokens outer, so a block of weight
// rows that fits in L2 is reused by all tokens before the next block is read.
void gemm_block(const uint16_t* w, int64_t ldw, int64_t rows, const uint16_t* x, int64_t ldx, int64_t n,
                int64_t k_full, int64_t k_tail, float* y, int64_t ldy) {
  for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
    const int tokens = static_cast<int>(std::min<int64_t>(kTileTokens, n - t0));
    TileFn full = tile_for(kTileRows, tokens);
    int64_t r0 = 0;
    for (; r0 + kTileRows <= rows; r0 += kTileRows) {
      full(w + r0 * ldw, ldw, x + t0 * ldx, ldx, k_full, k_tail, y + t0 * ldy + r0, ldy);
    }
    if (r0 < rows) {
      tile_for(static_cast<int>(rows - r0), tokens)(w + r0 * ldw, ldw, x + t0 * ldx, ldx, k_full, k_tail,
                                                    y + t0 * ldy + r0, ldy);
    }
  }
}

// Rows of weights per L2-resident block: about 256 KiB of bf16, a multiple of the tile height.
int64_t rows_per_block(int64_t padded_cols) {
  const int64_t rows = (256 * 1024) / (padded_cols * 2);
  return std::clamp<int64_t>(rows / kTileRows * kTileRows, kTileRows, 512);
}

// x [n, cols] as bf16 rows of `ldx` (a multiple of 32, zero-padded), converted in parallel.
const uint16_t* activations_to_bf16(const float* x, int64_t n, int64_t cols, int64_t ldx, ThreadPool& pool) {
  static thread_local std::vector<uint16_t> buffer;
  if (buffer.size() < static_cast<size_t>(n * ldx)) buffer.resize(static_cast<size_t>(n * ldx));
  uint16_t* out = buffer.data();
  if (n * cols < 65536) {
    for (int64_t t = 0; t < n; ++t) f32_to_bf16_padded(x + t * cols, cols, out + t * ldx, ldx);
  } else {
    pool.parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) f32_to_bf16_padded(x + t * cols, cols, out + t * ldx, ldx);
    });
  }
  return out;
}

// Q8_0 / Q4_0 rows decoded straight to bf16 (ggml block layouts), zero-padded to `ldw`.
GEMMA4_TARGET_BF16 void decode_q8_0_to_bf16(const uint8_t* row, int64_t cols, uint16_t* out) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    const uint8_t* block = row + b * 34;
    uint16_t scale_bits;
    std::memcpy(&scale_bits, block, 2);
    const __m512 scale = _mm512_set1_ps(_cvtsh_ss(scale_bits));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    const __m512 lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))), scale);
    const __m512 hi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))), scale);
    _mm512_storeu_si512(out + b * 32, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

GEMMA4_TARGET_BF16 void decode_q4_0_to_bf16(const uint8_t* row, int64_t cols, uint16_t* out) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    const uint8_t* block = row + b * 18;
    uint16_t scale_bits;
    std::memcpy(&scale_bits, block, 2);
    const __m512 scale = _mm512_set1_ps(_cvtsh_ss(scale_bits));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
    const __m128i mask = _mm_set1_epi8(0x0f);
    const __m128i eight = _mm_set1_epi8(8);
    const __m128i low = _mm_sub_epi8(_mm_and_si128(packed, mask), eight);                       // elements 0..15
    const __m128i high = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), eight);  // 16..31
    const __m512 lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(low)), scale);
    const __m512 hi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(high)), scale);
    _mm512_storeu_si512(out + b * 32, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

void decode_row_to_bf16(const TensorView& w, int64_t row, uint16_t* out, int64_t ldw, std::vector<float>& scratch) {
  const int64_t cols = w.cols();
  const uint8_t* data = w.data + static_cast<size_t>(row) * w.row_bytes();
  if (w.dtype == DType::Q8_0) {
    decode_q8_0_to_bf16(data, cols, out);
  } else if (w.dtype == DType::Q4_0) {
    decode_q4_0_to_bf16(data, cols, out);
  } else {
    scratch.resize(static_cast<size_t>(cols));
    dequantize_row(w, row, scratch.data());
    f32_to_bf16_padded(scratch.data(), cols, out, ldw);
    return;
  }
  std::fill(out + cols, out + ldw, uint16_t{0});
}

}  // namespace

GEMMA4_TARGET_BF16 void f32_to_bf16_padded(const float* x, int64_t count, uint16_t* out, int64_t padded_count) {
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, (__m512i)v);
  }
  for (; i < count; i += 16) {
    const int64_t left = std::min<int64_t>(16, count - i);
    const __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
    const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i));
    _mm256_mask_storeu_epi16(out + i, mask, (__m256i)v);
  }
  std::fill(out + count, out + padded_count, uint16_t{0});
}

void matmul_bf16_avx512(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t ldx = round_up(cols, 32);
  const uint16_t* xb = activations_to_bf16(x, n, cols, ldx, pool);
  const auto* weights = reinterpret_cast<const uint16_t*>(w.data);
  const int64_t k_full = cols / 32 * 32;
  const int64_t k_tail = cols - k_full;
  const int64_t block = n == 1 ? out_features : rows_per_block(ldx);
  const int64_t groups = (out_features + kTileRows - 1) / kTileRows;
  parallel_rows(pool, groups, double(n) * out_features * cols, [&](int64_t begin, int64_t end) {
    const int64_t first = begin * kTileRows;
    const int64_t last = std::min(out_features, end * kTileRows);
    for (int64_t r0 = first; r0 < last; r0 += block) {
      const int64_t rows = std::min(block, last - r0);
      gemm_block(weights + r0 * cols, cols, rows, xb, ldx, n, k_full, k_tail, y + r0, out_features);
    }
  });
}

void matmul_decoded_bf16_avx512(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t ldx = round_up(cols, 32);
  const uint16_t* xb = activations_to_bf16(x, n, cols, ldx, pool);
  const int64_t block = rows_per_block(ldx);
  const int64_t groups = (out_features + kTileRows - 1) / kTileRows;
  parallel_rows(pool, groups, double(n) * out_features * cols, [&](int64_t begin, int64_t end) {
    static thread_local std::vector<uint16_t> decoded;
    static thread_local std::vector<float> scratch;
    if (decoded.size() < static_cast<size_t>(block * ldx)) decoded.resize(static_cast<size_t>(block * ldx));
    const int64_t first = begin * kTileRows;
    const int64_t last = std::min(out_features, end * kTileRows);
    for (int64_t r0 = first; r0 < last; r0 += block) {
      const int64_t rows = std::min(block, last - r0);
      for (int64_t r = 0; r < rows; ++r) decode_row_to_bf16(w, r0 + r, decoded.data() + r * ldx, ldx, scratch);
      gemm_block(decoded.data(), ldx, rows, xb, ldx, n, ldx, 0, y + r0, out_features);
    }
  });
}

}  // namespace gemma4::kernels::simd
