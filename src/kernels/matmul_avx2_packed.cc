// AVX2 + FMA matrix product for prompts (many token rows), for CPUs without AVX-512.
//
// Blocked as a classic GEMM: a panel of 16 weight rows x up to 256 columns is decoded to float32 once
// and transposed into [column][16] order (16 KiB, stays in L1), then every tile of up to 6 token rows
// runs over it with 6 x 2 vector accumulators (output rows in the vector lanes: no horizontal sums),
// one broadcast activation per token and two panel loads per column. The activations of the current
// chunk (up to 192 tokens x 256 floats) are packed per tile as [column][token], once per thread and
// chunk, and stay in L2 while the panels of that thread pass by; the next panel's weight rows are
// prefetched while the current one is multiplied.
// Products and sums are float32, one rounding per fused multiply-add, summed in column order.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/matmul_simd.h"

#define GEMMA4_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace gemma4::kernels::simd {
namespace {

constexpr int kPanelRows = 16;          // output rows per panel: two 8-wide vectors
constexpr int kTileTokens = 6;          // 6 x 2 accumulators + 2 panel vectors + 1 broadcast = 15 ymm
constexpr int64_t kDepth = 256;         // columns per chunk: a whole number of every block type (Q4_K: 256)
constexpr int64_t kMaxTokenBlock = 192; // tokens whose chunk of activations must stay in L2 (192 KiB)

// Buffers of one thread, 32-byte aligned so the panel loads never split a cache line.
struct Scratch {
  std::vector<float> storage;
  float* rows = nullptr;   // [kPanelRows][kDepth] decoded rows
  float* panel = nullptr;  // [kDepth][kPanelRows] transposed
  float* zeros = nullptr;  // [kDepth] stand-in for rows past the end of W
  float* tokens = nullptr; // activations of one token block and chunk, tile by tile as [column][tile tokens]

  Scratch() {
    storage.assign(static_cast<size_t>(2 * kPanelRows * kDepth + kDepth + kMaxTokenBlock * kDepth + 8), 0.0f);
    auto address = reinterpret_cast<uintptr_t>(storage.data());
    float* base = storage.data() + ((32 - address % 32) % 32) / sizeof(float);
    rows = base;
    panel = rows + kPanelRows * kDepth;
    zeros = panel + kPanelRows * kDepth;
    tokens = zeros + kDepth;
  }
};

GEMMA4_TARGET_AVX2 void decode_bf16(const uint16_t* in, int64_t count, float* out) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
  }
  for (; i < count; ++i) out[i] = bf16_to_f32(in[i]);
}

GEMMA4_TARGET_AVX2 void decode_f16(const uint16_t* in, int64_t count, float* out) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < count; ++i) out[i] = f16_to_f32(in[i]);
}

// Q8_0 blocks (f16 scale, 32 int8) to float32: scale * q, the product exact in float32 as in dequantize.
GEMMA4_TARGET_AVX2 void decode_q8_0(const uint8_t* in, int64_t count, float* out) {
  for (int64_t b = 0; b < count / 32; ++b) {
    const uint8_t* block = in + b * 34;
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(static_cast<uint16_t>(block[0] | (block[1] << 8))));
    for (int i = 0; i < 4; ++i) {
      const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * i));
      const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
      _mm256_storeu_ps(out + b * 32 + 8 * i, _mm256_mul_ps(scale, q));
    }
  }
}

// Rows [row0, row0 + rows) of W, columns [k0, k0 + depth), as float32 row pointers; rows past the end of
// W (the last panel) read zeros.
GEMMA4_TARGET_AVX2 void decode_rows(const TensorView& w, int64_t row0, int rows, int64_t k0, int64_t depth,
                                    Scratch& s, const float* (&src)[kPanelRows]) {
  const int64_t cols = w.cols();
  const size_t row_bytes = w.row_bytes();
  const size_t offset = dtype_row_bytes(w.dtype, k0);
  for (int r = 0; r < kPanelRows; ++r) {
    if (r >= rows) {
      src[r] = s.zeros;
      continue;
    }
    const uint8_t* in = w.data + static_cast<size_t>(row0 + r) * row_bytes + offset;
    float* out = s.rows + r * kDepth;
    switch (w.dtype) {
      case DType::F32: src[r] = w.f32() + (row0 + r) * cols + k0; continue;
      case DType::BF16: decode_bf16(reinterpret_cast<const uint16_t*>(in), depth, out); break;
      case DType::F16: decode_f16(reinterpret_cast<const uint16_t*>(in), depth, out); break;
      case DType::Q8_0: decode_q8_0(in, depth, out); break;
      default: dequantize(w.dtype, in, depth, out); break;
    }
    src[r] = out;
  }
}

// panel[k * 16 + r] = src[r][k]: 8 x 8 blocks transposed in registers, the column tail one by one.
GEMMA4_TARGET_AVX2 void transpose_into_panel(const float* const (&src)[kPanelRows], int64_t depth, float* panel) {
  int64_t k = 0;
  for (; k + 8 <= depth; k += 8) {
    for (int g = 0; g < kPanelRows; g += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src[g + i] + k);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
      // u0..u3: columns 0..3 of rows 0-3 in the low half, columns 4..7 in the high half; u4..u7 rows 4-7.
      float* out = panel + k * kPanelRows + g;
      _mm256_store_ps(out + 0 * kPanelRows, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_store_ps(out + 1 * kPanelRows, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_store_ps(out + 2 * kPanelRows, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_store_ps(out + 3 * kPanelRows, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_store_ps(out + 4 * kPanelRows, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_store_ps(out + 5 * kPanelRows, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_store_ps(out + 6 * kPanelRows, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_store_ps(out + 7 * kPanelRows, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  }
  for (; k < depth; ++k)
    for (int r = 0; r < kPanelRows; ++r) panel[k * kPanelRows + r] = src[r][k];
}

// y[t * ldy + r] (+)= sum_k panel[k * 16 + r] * x[k * T + t] for t < T, r < valid: x packed so that the
// broadcasts read one sequential stream.
template <int T>
GEMMA4_TARGET_AVX2 void tile(const float* panel, int64_t depth, const float* x, float* y, int64_t ldy,
                             int valid, bool accumulate) {
  // Every loop over t fully unrolled, so GCC keeps the accumulators in registers (not on the stack).
  __m256 acc[T][2];
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < depth; ++k) {
    const __m256 w0 = _mm256_load_ps(panel + k * kPanelRows);
    const __m256 w1 = _mm256_load_ps(panel + k * kPanelRows + 8);
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_broadcast_ss(x + k * T + t);
      acc[t][0] = _mm256_fmadd_ps(w0, xv, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, xv, acc[t][1]);
    }
  }
  if (valid == kPanelRows) {
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      float* out = y + t * ldy;
      if (accumulate) {
        acc[t][0] = _mm256_add_ps(acc[t][0], _mm256_loadu_ps(out));
        acc[t][1] = _mm256_add_ps(acc[t][1], _mm256_loadu_ps(out + 8));
      }
      _mm256_storeu_ps(out, acc[t][0]);
      _mm256_storeu_ps(out + 8, acc[t][1]);
    }
    return;
  }
  // The last panel of W: only `valid` lanes exist in y (masked lanes are neither read nor written).
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lane);
  const __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid - 8), lane);
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    float* out = y + t * ldy;
    if (accumulate) {
      acc[t][0] = _mm256_add_ps(acc[t][0], _mm256_maskload_ps(out, mask0));
      acc[t][1] = _mm256_add_ps(acc[t][1], _mm256_maskload_ps(out + 8, mask1));
    }
    _mm256_maskstore_ps(out, mask0, acc[t][0]);
    _mm256_maskstore_ps(out + 8, mask1, acc[t][1]);
  }
}

// The size of the next of `tiles` tiles that share `tokens` tokens as evenly as possible.
inline int tile_size(int64_t tokens, int64_t tiles) {
  return static_cast<int>(tokens / tiles + (tokens % tiles != 0));
}

using TileFn = void (*)(const float*, int64_t, const float*, float*, int64_t, int, bool);
constexpr TileFn kTiles[kTileTokens + 1] = {nullptr, &tile<1>, &tile<2>, &tile<3>, &tile<4>, &tile<5>, &tile<6>};

}  // namespace

void matmul_packed_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const int64_t out_features = w.rows();
  const int64_t cols = w.cols();
  const int64_t panels = (out_features + kPanelRows - 1) / kPanelRows;
  // Token blocks of equal size (at most kMaxTokenBlock), a multiple of the tile where possible.
  const int64_t token_blocks = (n + kMaxTokenBlock - 1) / kMaxTokenBlock;
  int64_t block_tokens = (n + token_blocks - 1) / token_blocks;
  block_tokens = std::min(n, (block_tokens + kTileTokens - 1) / kTileTokens * kTileTokens);
  parallel_rows(pool, panels, double(n) * out_features * cols, [&](int64_t begin, int64_t end) {
    static thread_local Scratch scratch;
    const float* src[kPanelRows];
    const size_t row_bytes = w.row_bytes();
    for (int64_t t0 = 0; t0 < n; t0 += block_tokens) {
      const int64_t tokens = std::min(block_tokens, n - t0);
      for (int64_t k0 = 0; k0 < cols; k0 += kDepth) {
        const int64_t depth = std::min(kDepth, cols - k0);
        const size_t chunk_offset = dtype_row_bytes(w.dtype, k0);
        const size_t chunk_bytes = dtype_row_bytes(w.dtype, depth);
        // Tiles of near-equal size (e.g. 128 tokens: 18 x 6 + 4 x 5), never a lone short one; their
        // activations packed once per chunk for all the panels of this thread.
        const int64_t tiles = (tokens + kTileTokens - 1) / kTileTokens;
        for (int64_t i = 0, t = 0; i < tiles; ++i) {
          const int count = tile_size(tokens - t, tiles - i);
          float* packed = scratch.tokens + t * depth;
          for (int j = 0; j < count; ++j) {
            const float* row = x + (t0 + t + j) * cols + k0;
            for (int64_t k = 0; k < depth; ++k) packed[k * count + j] = row[k];
          }
          t += count;
        }
        for (int64_t p = begin; p < end; ++p) {
          const int64_t row0 = p * kPanelRows;
          const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, out_features - row0));
          decode_rows(w, row0, rows, k0, depth, scratch, src);
          transpose_into_panel(src, depth, scratch.panel);
          // The next panel's rows are 16 separate streams the hardware prefetcher barely follows: fetch
          // one of them into L2 per tile, so decoding that panel does not wait on memory.
          const int64_t next_rows = p + 1 < end ? std::min<int64_t>(kPanelRows, out_features - row0 - kPanelRows) : 0;
          const uint8_t* next = w.data + static_cast<size_t>(row0 + kPanelRows) * row_bytes + chunk_offset;
          for (int64_t i = 0, t = 0; i < tiles; ++i) {
            const int count = tile_size(tokens - t, tiles - i);
            if (i < next_rows) {
              for (size_t line = 0; line < chunk_bytes; line += 64) {
                _mm_prefetch(reinterpret_cast<const char*>(next + i * row_bytes + line), _MM_HINT_T1);
              }
            }
            kTiles[count](scratch.panel, depth, scratch.tokens + t * depth, y + (t0 + t) * out_features + row0,
                          out_features, rows, k0 > 0);
            t += count;
          }
        }
      }
    }
  });
}

}  // namespace gemma4::kernels::simd
