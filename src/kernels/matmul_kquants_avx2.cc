// AVX2 (and AVX-512 VNNI) integer matrix products for the k-quant and i-quant weight types of published GGUFs (Q4_K, Q5_K,
// Q6_K, IQ4_XS with 256-value blocks; Q5_0, IQ4_NL with 32-value blocks), as ggml's vec_dot kernels do it:
// the activations are quantized to int8 once per product (one float scale per block of the weights' block
// size, plus sums per 16 values for the k-quants' minima and offsets), and every block's dot product is an
// exact integer sum (vpmaddubsw / vpmaddwd with the block's small integer scales), scaled once in float32.
// The weights are read where they are stored; nothing is decoded to float.
//
// One driver serves decoding and prompts: rows of W are claimed in chunks across the pool; a chunk is
// walked in groups of kGroupRows rows, and every token of x runs over a group before the next, so the
// group's bytes stay in L1 while the activations (int8, ~1/4 of the float size) stream from L2.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/dequantize_blocks.h"
#include "kernels/cpu_features.h"
#include "kernels/iq_grids.h"
#include "kernels/matmul_simd.h"

#define GEMMA4_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace gemma4::kernels::simd {
namespace {

// Activations of one 256-value block: q = round(x / d), d = max|x| / 127; bsums[g] = sum of q over values
// 16g .. 16g + 15.
struct Q8KBlock {
  float d;
  int16_t bsums[16];
  int8_t q[256];
};

// Activations of one 32-value block.
struct Q8Block {
  float d;
  int8_t q[32];
};

constexpr int64_t kGroupRows = 8;
constexpr int64_t kPrefetchBytes = 1024;

GEMMA4_TARGET_AVX2 inline float max_abs(const float* x, int count) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < count; i += 8) amax = _mm256_max_ps(amax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 floats times `inverse`, rounded to nearest (even) int8 in order.
GEMMA4_TARGET_AVX2 inline void round_32(const float* x, float inverse, int8_t* q) {
  const __m256 inv = _mm256_set1_ps(inverse);
  __m256i i32[4];
  for (int i = 0; i < 4; ++i) i32[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inv));
  // The packs interleave 128-bit lanes; the permute restores the order.
  const __m256i i8 = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

GEMMA4_TARGET_AVX2 void quantize_q8k(const float* x, int64_t cols, Q8KBlock* out) {
  for (int64_t b = 0; b < cols / 256; ++b, x += 256) {
    Q8KBlock& block = out[b];
    const float amax = max_abs(x, 256);
    block.d = amax / 127.0f;
    const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 8; ++i) round_32(x + 32 * i, inverse, block.q + 32 * i);
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += block.q[16 * g + i];
      block.bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

GEMMA4_TARGET_AVX2 void quantize_q8(const float* x, int64_t cols, Q8Block* out) {
  for (int64_t b = 0; b < cols / 32; ++b, x += 32) {
    const float amax = max_abs(x, 32);
    out[b].d = amax / 127.0f;
    round_32(x, amax != 0.0f ? 127.0f / amax : 0.0f, out[b].q);
  }
}

#define GEMMA4_KQ_TARGET GEMMA4_TARGET_AVX2
#define GEMMA4_KQ_ACC(sum, pairs, scales) _mm256_add_epi32((sum), _mm256_madd_epi16((pairs), (scales)))
namespace avx2 {
#include "kernels/matmul_kquants_tiles.inc"
}  // namespace avx2
#undef GEMMA4_KQ_TARGET
#undef GEMMA4_KQ_ACC

#define GEMMA4_KQ_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define GEMMA4_KQ_ACC(sum, pairs, scales) _mm256_dpwssd_epi32((sum), (pairs), (scales))
namespace vnni {
#include "kernels/matmul_kquants_tiles.inc"
}  // namespace vnni
#undef GEMMA4_KQ_TARGET
#undef GEMMA4_KQ_ACC

// The AVX-512 VNNI kernels (one vpdpwssd where AVX2 needs vpmaddwd + vpaddd) or the AVX2 ones.
avx2::Kernel kernel_for(DType type, bool vnni) {
  if (vnni) {
    const vnni::Kernel k = vnni::kernel_for(type);
    avx2::Kernel out;
    for (int t = 0; t <= avx2::kTileTokens; ++t) out.tiles[t] = k.tiles[t];
    out.k_blocks = k.k_blocks;
    return out;
  }
  return avx2::kernel_for(type);
}

}  // namespace

bool has_int8_kquant_avx2(DType type) { return kernel_for(type, false).tiles[1] != nullptr; }

void matmul_int8_kquant_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool, bool vnni) {
  const avx2::Kernel kernel = kernel_for(w.dtype, vnni && cpu_features().avx512_vnni);
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t block = kernel.k_blocks ? 256 : 32;
  const int64_t blocks = cols / block;
  const size_t block_bytes = kernel.k_blocks ? sizeof(Q8KBlock) : sizeof(Q8Block);
  const size_t x_row_bytes = static_cast<size_t>(blocks) * block_bytes;
  static thread_local std::vector<uint8_t> xq;
  xq.resize(x_row_bytes * static_cast<size_t>(n));
  uint8_t* const activations = xq.data();  // this thread's buffer, shared with the workers below
  // Quantize the activation rows, in parallel for prompts.
  parallel_rows(pool, n, double(n) * cols * 64, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      uint8_t* out = activations + static_cast<size_t>(t) * x_row_bytes;
      if (kernel.k_blocks) {
        quantize_q8k(x + t * cols, cols, reinterpret_cast<Q8KBlock*>(out));
      } else {
        quantize_q8(x + t * cols, cols, reinterpret_cast<Q8Block*>(out));
      }
    }
  });
  const size_t row_bytes = w.row_bytes();
  const int64_t groups = (out_features + kGroupRows - 1) / kGroupRows;
  parallel_rows(
      pool, groups, double(n) * out_features * cols,
      [&](int64_t begin, int64_t end) {
        for (int64_t g = begin; g < end; ++g) {
          const int64_t first = g * kGroupRows;
          const int64_t last = std::min(out_features, first + kGroupRows);
          for (int64_t t0 = 0; t0 < n; t0 += avx2::kTileTokens) {
            const int tokens = static_cast<int>(std::min<int64_t>(avx2::kTileTokens, n - t0));
            const void* xt[avx2::kTileTokens];
            for (int t = 0; t < tokens; ++t) xt[t] = activations + static_cast<size_t>(t0 + t) * x_row_bytes;
            for (int64_t o = first; o < last; ++o) {
              float out[avx2::kTileTokens];
              kernel.tiles[tokens](w.data + static_cast<size_t>(o) * row_bytes, xt, blocks, out);
              for (int t = 0; t < tokens; ++t) y[(t0 + t) * out_features + o] = out[t];
            }
          }
        }
      },
      /*balanced=*/true);
}

}  // namespace gemma4::kernels::simd
