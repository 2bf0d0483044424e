// Q8_0 / Q4_0 weights times int8 activations for prompts (gemm::matmul_int8, matmul_gemm.h).
//
// The activations are quantized once per call, per block of 32 (scale = max|x| / 127, q = round(x / scale),
// the arithmetic of the matrix-vector kernels). Each thread takes panels of 16 weight rows; a panel is
// repacked into an L2-resident buffer where, per block of 32 columns, the 16 rows' bytes come in 8 groups
// of [row][4 columns] (64 bytes: one zmm), followed by the 16 rows' scales and the 16 rows' weight sums x 128.
// A tile of T tokens then needs one 4-byte broadcast of each token's activations per group to feed all
// 16 rows, with the integer sums of the 16 rows in the lanes of one register per token (no horizontal sums):
//   AVX-512 VNNI: vpdpbusd(acc, x + 128 as unsigned, w), less 128 * sum(w) per block;
//   AVX2: vpmaddubsw(|w|, x * sign(w)) then vpmaddwd with ones (no saturation: |w|, |x| <= 128, 127).
// Each block's integer sums are scaled by (weight scale x activation scale) into float32 accumulators.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul_gemm.h"

#define GEMMA4_GEMM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define GEMMA4_GEMM_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

namespace gemma4::kernels::gemm {
namespace {

constexpr int kPanelRows = 16;
constexpr int64_t kPanelBlockBytes = 8 * 64 + 16 * 4 + 16 * 4;  // weights, scales, 128 * weight sums
constexpr int kVnniTokens = 8;  // 8 integer + 8 float accumulators + weights + scales: 19 zmm
constexpr int kAvx2Tokens = 2;  // 2 x 2 integer + 2 x 2 float + 2 weights + 2 |weights| + broadcast: 15 ymm

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Rows [r0, r0 + 16) of W (rows past the end as zeros) into the interleaved panel layout.
void repack(const TensorView& w, int64_t r0, uint8_t* panel) {
  const int64_t blocks = w.cols() / 32;
  const bool q4 = w.dtype == DType::Q4_0;
  const int64_t block_bytes = q4 ? 18 : 34;
  const size_t row_bytes = w.row_bytes();
  for (int r = 0; r < kPanelRows; ++r) {
    const int64_t row = r0 + r;
    const bool present = row < w.rows();
    const uint8_t* source = present ? w.data + static_cast<size_t>(row) * row_bytes : nullptr;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* target = panel + b * kPanelBlockBytes;
      int8_t values[32] = {};
      float scale = 0.0f;
      if (present) {
        const uint8_t* block = source + b * block_bytes;
        scale = f16_to_f32(static_cast<uint16_t>(block[0] | (block[1] << 8)));
        if (q4) {
          for (int i = 0; i < 16; ++i) {
            values[i] = static_cast<int8_t>((block[2 + i] & 0x0f) - 8);
            values[i + 16] = static_cast<int8_t>((block[2 + i] >> 4) - 8);
          }
        } else {
          std::memcpy(values, block + 2, 32);
        }
      }
      int32_t sum = 0;
      for (int i = 0; i < 32; ++i) sum += values[i];
      for (int g = 0; g < 8; ++g) std::memcpy(target + g * 64 + r * 4, values + 4 * g, 4);
      std::memcpy(target + 512 + r * 4, &scale, 4);
      const int32_t offset = 128 * sum;
      std::memcpy(target + 576 + r * 4, &offset, 4);
    }
  }
}

// x [cols] -> q [cols] (signed, or + 128 as unsigned with kOffset) and scales [cols / 32].
template <bool kOffset>
GEMMA4_GEMM_AVX2 void quantize_avx2(const float* x, int64_t cols, uint8_t* q, float* scales) {
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
    const __m256i i8 = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    __m256i ordered = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    if (kOffset) ordered = _mm256_xor_si256(ordered, _mm256_set1_epi8(static_cast<char>(0x80)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), ordered);
  }
}

// A tile: T tokens x 16 rows, y[t * ldy + r] for r < rows.
template <int T>
GEMMA4_GEMM_VNNI void tile_vnni(const uint8_t* panel, int64_t blocks, const uint8_t* xq, const float* xs,
                                int64_t cols, float* y, int64_t ldy, int rows) {
  const int64_t scale_stride = cols / 32;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* p = panel + b * kPanelBlockBytes;
    const __m512i offset = _mm512_loadu_si512(p + 576);
    __m512i sum[T];
    for (int t = 0; t < T; ++t) sum[t] = _mm512_setzero_si512();
    for (int g = 0; g < 8; ++g) {
      const __m512i weights = _mm512_loadu_si512(p + g * 64);
      for (int t = 0; t < T; ++t) {
        const __m512i x4 = _mm512_set1_epi32(load_i32(xq + t * cols + b * 32 + 4 * g));
        sum[t] = _mm512_dpbusd_epi32(sum[t], x4, weights);
      }
    }
    const __m512 scale = _mm512_loadu_ps(reinterpret_cast<const float*>(p + 512));
    for (int t = 0; t < T; ++t) {
      const __m512 combined = _mm512_mul_ps(scale, _mm512_set1_ps(xs[t * scale_stride + b]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sum[t], offset)), combined, acc[t]);
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1u);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

template <int T>
GEMMA4_GEMM_AVX2 void tile_avx2(const uint8_t* panel, int64_t blocks, const uint8_t* xq, const float* xs,
                                int64_t cols, float* y, int64_t ldy, int rows) {
  const int64_t scale_stride = cols / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* p = panel + b * kPanelBlockBytes;
    __m256i sum[T][2];
    for (int t = 0; t < T; ++t) sum[t][0] = sum[t][1] = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + g * 64));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + g * 64 + 32));
      const __m256i a0 = _mm256_abs_epi8(w0), a1 = _mm256_abs_epi8(w1);
      for (int t = 0; t < T; ++t) {
        const __m256i x4 = _mm256_set1_epi32(load_i32(xq + t * cols + b * 32 + 4 * g));
        sum[t][0] = _mm256_add_epi32(sum[t][0], _mm256_madd_epi16(_mm256_maddubs_epi16(a0, _mm256_sign_epi8(x4, w0)), ones));
        sum[t][1] = _mm256_add_epi32(sum[t][1], _mm256_madd_epi16(_mm256_maddubs_epi16(a1, _mm256_sign_epi8(x4, w1)), ones));
      }
    }
    const __m256 s0 = _mm256_loadu_ps(reinterpret_cast<const float*>(p + 512));
    const __m256 s1 = _mm256_loadu_ps(reinterpret_cast<const float*>(p + 512 + 32));
    for (int t = 0; t < T; ++t) {
      const __m256 xscale = _mm256_set1_ps(xs[t * scale_stride + b]);
      acc[t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t][0]), _mm256_mul_ps(s0, xscale), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t][1]), _mm256_mul_ps(s1, xscale), acc[t][1]);
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float out[16];
    _mm256_store_ps(out, acc[t][0]);
    _mm256_store_ps(out + 8, acc[t][1]);
    std::copy_n(out, rows, y + t * ldy);
  }
}

using TileFn = void (*)(const uint8_t*, int64_t, const uint8_t*, const float*, int64_t, float*, int64_t, int);

template <int... T>
constexpr std::array<TileFn, sizeof...(T)> vnni_tiles(std::integer_sequence<int, T...>) {
  return {&tile_vnni<T + 1>...};
}

}  // namespace

bool int8_supported(DType type) { return type == DType::Q8_0 || type == DType::Q4_0; }

void matmul_int8(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool, Isa isa) {
  const int64_t out = w.rows();
  const int64_t cols = w.cols();
  const int64_t blocks = cols / 32;
  const bool vnni = isa == Isa::kAvx512;
  static thread_local std::vector<uint8_t> xq;
  static thread_local std::vector<float> xs;
  xq.resize(static_cast<size_t>(n * cols));
  xs.resize(static_cast<size_t>(n * blocks));
  uint8_t* q = xq.data();
  float* s = xs.data();
  const auto quantize = vnni ? &quantize_avx2<true> : &quantize_avx2<false>;
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) quantize(x + t * cols, cols, q + t * cols, s + t * blocks);
  });
  static constexpr auto kVnni = vnni_tiles(std::make_integer_sequence<int, kVnniTokens>{});
  const int tokens_per_tile = vnni ? kVnniTokens : kAvx2Tokens;
  const int64_t panels = (out + kPanelRows - 1) / kPanelRows;
  pool.parallel_for_balanced(panels, 4, [&](int64_t begin, int64_t end) {
    static thread_local std::vector<uint8_t> buffer;
    buffer.resize(static_cast<size_t>(blocks * kPanelBlockBytes + 64));
    uint8_t* panel = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
    for (int64_t p = begin; p < end; ++p) {
      const int64_t r0 = p * kPanelRows;
      const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, out - r0));
      repack(w, r0, panel);
      for (int64_t t0 = 0; t0 < n; t0 += tokens_per_tile) {
        const int count = static_cast<int>(std::min<int64_t>(tokens_per_tile, n - t0));
        const uint8_t* xt = q + t0 * cols;
        const float* st = s + t0 * blocks;
        float* yt = y + t0 * out + r0;
        if (vnni) {
          kVnni[count - 1](panel, blocks, xt, st, cols, yt, out, rows);
        } else if (count == 2) {
          tile_avx2<2>(panel, blocks, xt, st, cols, yt, out, rows);
        } else {
          tile_avx2<1>(panel, blocks, xt, st, cols, yt, out, rows);
        }
      }
    }
  });
}

}  // namespace gemma4::kernels::gemm
