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


namespace gemma4::kernels::simd {
namespace {

#define GEMMA4_KQ_TARGET __attribute__((target("avx2,fma,f16c")))
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
  const size_t block_bytes = kernel.k_blocks ? sizeof(avx2::Q8KBlock) : sizeof(avx2::Q8Block);
  const size_t x_row_bytes = static_cast<size_t>(blocks) * block_bytes;
  static thread_local std::vector<uint8_t> xq;
  xq.resize(x_row_bytes * static_cast<size_t>(n));
  uint8_t* const activations = xq.data();  // this thread's buffer, shared with the workers below
  // Quantize the activation rows, in parallel for prompts.
  parallel_rows(pool, n, double(n) * cols * 64, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      uint8_t* out = activations + static_cast<size_t>(t) * x_row_bytes;
      if (kernel.k_blocks) {
        avx2::quantize_q8k(x + t * cols, cols, reinterpret_cast<avx2::Q8KBlock*>(out));
      } else {
        avx2::quantize_q8(x + t * cols, cols, reinterpret_cast<avx2::Q8Block*>(out));
      }
    }
  });
  const size_t row_bytes = w.row_bytes();
  const int64_t groups = (out_features + avx2::kGroupRows - 1) / avx2::kGroupRows;
  parallel_rows(
      pool, groups, double(n) * out_features * cols,
      [&](int64_t begin, int64_t end) {
        for (int64_t g = begin; g < end; ++g) {
          const int64_t first = g * avx2::kGroupRows;
          const int64_t last = std::min(out_features, first + avx2::kGroupRows);
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
