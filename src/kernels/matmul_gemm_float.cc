// BF16 / F16 / F32 weights times float32 activations, AVX-512 (gemm::matmul_float, matmul_gemm.h), for every
// number of activation rows, so a row's result does not depend on how many rows share the call (a tail
// prefill equals the all-rows pass bit for bit, decode equals prefill).
//
// Each output is 16 partial sums over the columns (lane = column mod 16, fused multiply-adds in column order,
// a masked last step for a column tail), then one fixed horizontal sum. Register-blocked: a tile of 4 weight
// rows x 6 tokens keeps 24 accumulators, 6 activation vectors and one weight vector in the 32 zmm registers
// (24 multiply-adds per 10 loads; weights widened in registers, read in place, no packing). Cache-blocked:
// a thread's rows are taken 32 at a time (at most 32 x 12288 x 2 bytes, L2-resident) and every tile of 6
// tokens runs over that block before the next; the tokens' rows stream from L2. One token (decode): tiles of
// 8 rows x 1, eight weight streams in flight, rows claimed in chunks across the pool.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul_gemm.h"

#define GEMMA4_GEMM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

namespace gemma4::kernels::gemm {
namespace {

constexpr int kTileRows = 4;
constexpr int kTileTokens = 6;
constexpr int kDecodeRows = 8;
constexpr int64_t kBlockRows = 32;

struct F32W {
  using T = float;
};
struct Bf16W {
  using T = uint16_t;
};
struct F16W {
  using T = uint16_t;
};

template <typename K>
GEMMA4_GEMM_AVX512 inline __m512 load_w(const typename K::T* p, __mmask16 mask) {
  if constexpr (std::is_same_v<K, F32W>) {
    return _mm512_maskz_loadu_ps(mask, p);
  } else if constexpr (std::is_same_v<K, Bf16W>) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));  // bf16 bits are the top half of a float32
  } else {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
  }
}

// y[t * ldy + r] = sum_k w[r * ldw + k] * x[t * ldx + k] for r < R, t < T.
template <typename K, int R, int T>
GEMMA4_GEMM_AVX512 void tile(const typename K::T* w, int64_t ldw, const float* x, int64_t ldx, int64_t cols,
                             float* y, int64_t ldy) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t k16 = cols / 16 * 16;
  for (int64_t k = 0; k < k16; k += 16) {
    __m512 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm512_loadu_ps(x + t * ldx + k);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = load_w<K>(w + r * ldw + k, 0xffff);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  if (k16 < cols) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (cols - k16)) - 1u);
    __m512 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm512_maskz_loadu_ps(mask, x + t * ldx + k16);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = load_w<K>(w + r * ldw + k16, mask);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <typename K>
using TileFn = void (*)(const typename K::T*, int64_t, const float*, int64_t, int64_t, float*, int64_t);

template <typename K, int R>
TileFn<K> tile_for_tokens(int tokens) {
  switch (tokens) {
    case 1: return &tile<K, R, 1>;
    case 2: return &tile<K, R, 2>;
    case 3: return &tile<K, R, 3>;
    case 4: return &tile<K, R, 4>;
    case 5: return &tile<K, R, 5>;
    default: return &tile<K, R, 6>;
  }
}

template <typename K>
TileFn<K> tile_for(int rows, int tokens) {
  switch (rows) {
    case 1: return tile_for_tokens<K, 1>(tokens);
    case 2: return tile_for_tokens<K, 2>(tokens);
    case 3: return tile_for_tokens<K, 3>(tokens);
    default: return tile_for_tokens<K, 4>(tokens);
  }
}

template <typename K>
void run(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const int64_t out = w.rows();
  const int64_t cols = w.cols();
  const auto* weights = reinterpret_cast<const typename K::T*>(w.data);
  if (n == 1) {
    const auto body = [&](int64_t begin, int64_t end) {
      int64_t r = begin;
      for (; r + kDecodeRows <= end; r += kDecodeRows) {
        tile<K, kDecodeRows, 1>(weights + r * cols, cols, x, cols, cols, y + r, 1);
      }
      for (; r < end; ++r) tile<K, 1, 1>(weights + r * cols, cols, x, cols, cols, y + r, 1);
    };
    if (static_cast<double>(out) * cols < 65536.0) {
      body(0, out);
    } else {
      pool.parallel_for_balanced(out, 8, body);
    }
    return;
  }
  const int64_t blocks = (out + kBlockRows - 1) / kBlockRows;
  const auto body = [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t r0 = block * kBlockRows, r1 = std::min(out, r0 + kBlockRows);
      for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
        const int tokens = static_cast<int>(std::min<int64_t>(kTileTokens, n - t0));
        for (int64_t r = r0; r < r1; r += kTileRows) {
          const int rows = static_cast<int>(std::min<int64_t>(kTileRows, r1 - r));
          tile_for<K>(rows, tokens)(weights + r * cols, cols, x + t0 * cols, cols, cols, y + t0 * out + r, out);
        }
      }
    }
  };
  if (static_cast<double>(out) * cols * n < 65536.0) {
    body(0, blocks);
  } else {
    pool.parallel_for_balanced(blocks, 4, body);
  }
}

}  // namespace

bool float_supported(DType type) { return type == DType::BF16 || type == DType::F16 || type == DType::F32; }

void matmul_float(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  if (w.dtype == DType::F32) {
    run<F32W>(x, n, w, y, pool);
  } else if (w.dtype == DType::BF16) {
    run<Bf16W>(x, n, w, y, pool);
  } else {
    run<F16W>(x, n, w, y, pool);
  }
}

}  // namespace gemma4::kernels::gemm
