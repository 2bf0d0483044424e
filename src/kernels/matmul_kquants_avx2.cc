// AVX2 integer matrix products for the k-quant and i-quant weight types of published GGUFs (Q4_K, Q5_K,
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

// f16 -> f32 through F16C (the portable load_f16 is a bit-twiddling loop).
GEMMA4_TARGET_AVX2 inline float half(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

GEMMA4_TARGET_AVX2 inline float hsum(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

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

GEMMA4_TARGET_AVX2 inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 bytes of nibbles as 32 values: low nibbles in the low lane, high nibbles in the high lane.
GEMMA4_TARGET_AVX2 inline __m256i nibbles_16(const uint8_t* p) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i low = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low), _mm_and_si128(packed, low));
}

// Signed weights w (|w| <= 127) . signed activations x as 16 int16 pair sums (no saturation: 2 * 127^2).
GEMMA4_TARGET_AVX2 inline __m256i signed_pairs(__m256i w, __m256i x) {
  return _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

GEMMA4_TARGET_AVX2 inline void prefetch(const uint8_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
}

// Each kernel: one weight row against T tokens' quantized activations (x[t]), out[t] = the dot products.
// A block's weights are unpacked once and multiplied with every token's activations.

template <int T>
GEMMA4_TARGET_AVX2 inline void finish(const __m256 (&acc)[T], const float (&extra)[T], float* out) {
  for (int t = 0; t < T; ++t) out[t] = hsum(acc[t]) + extra[t];
}

// Q4_K (144 bytes: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles):
// sum = d * xd * sum_j scale_j (q . x)_j - dmin * xd * sum_j min_j * (sum of x over sub-block j).
// Q5_K (176 bytes) adds a fifth bit per value (32 bytes, bit 2c / 2c + 1 for chunk c): kFive.
template <int T, bool kFive>
GEMMA4_TARGET_AVX2 void tile_q45_k(const uint8_t* row, const void* const* xv, int64_t blocks, float* out) {
  const Q8KBlock* x[T];
  for (int t = 0; t < T; ++t) x[t] = static_cast<const Q8KBlock*>(xv[t]);
  constexpr int64_t kBytes = kFive ? 176 : 144;
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc[T];
  float zero[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), zero[t] = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += kBytes) {
    prefetch(row);
    const float d = half(row), dmin = half(row + 2);
    // The 12 scale bytes as three words: scales 0-3 and mins 0-3 are the low 6 bits of words 0 and 1; scales
    // and mins 4-7 take their low 4 bits from the nibbles of word 2 and their top 2 from the top bits of
    // words 0 and 1 (k4_scale_min spells out the same layout).
    const uint32_t w0 = load_u32(row + 4), w1 = load_u32(row + 8), w2 = load_u32(row + 12);
    const uint64_t scales = (w0 & 0x3f3f3f3fu) |
                            uint64_t((w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4)) << 32;
    const uint64_t mins = (w1 & 0x3f3f3f3fu) |
                          uint64_t(((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4)) << 32;
    // Each min twice, for the two 16-value groups of its sub-block: madd with the bsums gives min_j * sum_j.
    const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mins));
    const __m256i mins_pairs = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    __m256i sum[T];
    for (int t = 0; t < T; ++t) {
      const __m256 m = _mm256_cvtepi32_ps(_mm256_madd_epi16(load256(x[t][b].bsums), mins_pairs));
      acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * x[t][b].d), m, acc[t]);
      sum[t] = _mm256_setzero_si256();
    }
    int sc[8];
    for (int j = 0; j < 8; ++j) sc[j] = static_cast<int>((scales >> (8 * j)) & 0xff);
    __m256i high = kFive ? load256(row + 16) : _mm256_setzero_si256();
    const uint8_t* qs = row + (kFive ? 48 : 16);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(qs + 32 * c);
      __m256i q0 = _mm256_and_si256(q, low);
      __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
      if (kFive) {
        q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(high, one), 4));
        q1 = _mm256_or_si256(q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 1), one), 4));
        high = _mm256_srli_epi16(high, 2);
      }
      const __m256i s0 = _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c]));
      const __m256i s1 = _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c + 1]));
      for (int t = 0; t < T; ++t) {
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, load256(x[t][b].q + 64 * c)), s0);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, load256(x[t][b].q + 64 * c + 32)), s1);
        sum[t] = _mm256_add_epi32(sum[t], _mm256_add_epi32(p0, p1));
      }
    }
    for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * x[t][b].d), _mm256_cvtepi32_ps(sum[t]), acc[t]);
  }
  finish<T>(acc, zero, out);
}

// Q6_K (210 bytes: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8 scales, d): the 6-bit
// values q are unsigned; their offset -32 comes off as 32 * sum_g scale_g * (sum of x over group g).
template <int T>
GEMMA4_TARGET_AVX2 void tile_q6_k(const uint8_t* row, const void* const* xv, int64_t blocks, float* out) {
  const Q8KBlock* x[T];
  for (int t = 0; t < T; ++t) x[t] = static_cast<const Q8KBlock*>(xv[t]);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i two_bits = _mm256_set1_epi8(3);
  __m256 acc[T];
  float zero[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), zero[t] = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += 210) {
    prefetch(row);
    const int8_t* scales = reinterpret_cast<const int8_t*>(row + 192);
    const float d = half(row + 208);
    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
    __m256i sum[T];
    for (int t = 0; t < T; ++t) {  // start from -32 * sum_g scale_g * bsum_g
      sum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(load256(x[t][b].bsums), scales16), 5));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load256(row + 64 * h);
      const __m256i ql1 = load256(row + 64 * h + 32);
      const __m256i qh = load256(row + 128 + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_slli_epi16(_mm256_and_si256(qh, two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two_bits), 4))};
      for (int k = 0; k < 4; ++k) {
        const int g = 8 * h + 2 * k;
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(scales[g + 1]), _mm_set1_epi16(scales[g]));
        for (int t = 0; t < T; ++t) {
          const __m256i p = _mm256_maddubs_epi16(q[k], load256(x[t][b].q + 128 * h + 32 * k));
          sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(p, s));
        }
      }
    }
    for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * x[t][b].d), _mm256_cvtepi32_ps(sum[t]), acc[t]);
  }
  finish<T>(acc, zero, out);
}

// IQ4_XS (136 bytes: d, 8 high scale bit pairs, 8 low scale nibbles, 128 bytes of nibbles indexing the
// IQ4_NL table): per 32 values, (scale - 32) * (table[q] . x).
template <int T>
GEMMA4_TARGET_AVX2 void tile_iq4_xs(const uint8_t* row, const void* const* xv, int64_t blocks, float* out) {
  const Q8KBlock* x[T];
  for (int t = 0; t < T; ++t) x[t] = static_cast<const Q8KBlock*>(xv[t]);
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  __m256 acc[T];
  float zero[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), zero[t] = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += 136) {
    prefetch(row);
    const float d = half(row);
    const unsigned scales_h = load_u16(row + 2);
    __m256i sum[T];
    for (int t = 0; t < T; ++t) sum[t] = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i w = _mm256_shuffle_epi8(table, nibbles_16(row + 8 + 16 * ib));
      const __m256i magnitude = _mm256_sign_epi8(w, w);
      const int ls = ((row[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_h >> (2 * ib)) & 3) << 4);
      const __m256i s = _mm256_set1_epi16(static_cast<int16_t>(ls - 32));
      for (int t = 0; t < T; ++t) {
        const __m256i p = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(load256(x[t][b].q + 32 * ib), w));
        sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(p, s));
      }
    }
    for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * x[t][b].d), _mm256_cvtepi32_ps(sum[t]), acc[t]);
  }
  finish<T>(acc, zero, out);
}

// 32 bits as 32 bytes: byte i is 0x10 where bit i is set.
GEMMA4_TARGET_AVX2 inline __m256i fifth_bits(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i mask = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Q5_0 (22 bytes: d, 32 fifth bits, 16 bytes of nibbles): d * xd * ((q - 16) . x), and IQ4_NL (18 bytes: d,
// 16 bytes of nibbles indexing the table): d * xd * (table[q] . x). Blocks of 32 against Q8Block activations.
template <int T, bool kQ5>
GEMMA4_TARGET_AVX2 void tile_32(const uint8_t* row, const void* const* xv, int64_t blocks, float* out) {
  const Q8Block* x[T];
  for (int t = 0; t < T; ++t) x[t] = static_cast<const Q8Block*>(xv[t]);
  constexpr int64_t kBytes = kQ5 ? 22 : 18;
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  float zero[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), zero[t] = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += kBytes) {
    prefetch(row);
    const __m256i w = kQ5 ? _mm256_sub_epi8(_mm256_or_si256(nibbles_16(row + 6), fifth_bits(load_u32(row + 2))),
                                            _mm256_set1_epi8(16))
                          : _mm256_shuffle_epi8(table, nibbles_16(row + 2));
    const __m256i magnitude = _mm256_sign_epi8(w, w);
    const float d = half(row);
    for (int t = 0; t < T; ++t) {
      const __m256i p = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(load256(x[t][b].q), w));
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * x[t][b].d), _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), acc[t]);
    }
  }
  finish<T>(acc, zero, out);
}

constexpr int kTileTokens = 4;
using TileFn = void (*)(const uint8_t* row, const void* const* x, int64_t blocks, float* out);

struct Kernel {
  TileFn tiles[kTileTokens + 1] = {};  // tiles[t]: t tokens at once
  bool k_blocks = false;               // activations in 256-value blocks (Q8KBlock), else 32 (Q8Block)
};

template <template <int> class Tile>
constexpr Kernel make_kernel(bool k_blocks) {
  return {{nullptr, &Tile<1>::run, &Tile<2>::run, &Tile<3>::run, &Tile<4>::run}, k_blocks};
}
template <int T> struct Q4K { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_q45_k<T, false>(r, x, b, o); } };
template <int T> struct Q5K { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_q45_k<T, true>(r, x, b, o); } };
template <int T> struct Q6K { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_q6_k<T>(r, x, b, o); } };
template <int T> struct IQ4XS { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_iq4_xs<T>(r, x, b, o); } };
template <int T> struct Q50 { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_32<T, true>(r, x, b, o); } };
template <int T> struct IQ4NL { static void run(const uint8_t* r, const void* const* x, int64_t b, float* o) { tile_32<T, false>(r, x, b, o); } };

Kernel kernel_for(DType type) {
  switch (type) {
    case DType::Q4_K: return make_kernel<Q4K>(true);
    case DType::Q5_K: return make_kernel<Q5K>(true);
    case DType::Q6_K: return make_kernel<Q6K>(true);
    case DType::IQ4_XS: return make_kernel<IQ4XS>(true);
    case DType::Q5_0: return make_kernel<Q50>(false);
    case DType::IQ4_NL: return make_kernel<IQ4NL>(false);
    default: return {};
  }
}

}  // namespace

bool has_int8_kquant_avx2(DType type) { return kernel_for(type).tiles[1] != nullptr; }

void matmul_int8_kquant_avx2(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool) {
  const Kernel kernel = kernel_for(w.dtype);
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
          for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
            const int tokens = static_cast<int>(std::min<int64_t>(kTileTokens, n - t0));
            const void* xt[kTileTokens];
            for (int t = 0; t < tokens; ++t) xt[t] = activations + static_cast<size_t>(t0 + t) * x_row_bytes;
            for (int64_t o = first; o < last; ++o) {
              float out[kTileTokens];
              kernel.tiles[tokens](w.data + static_cast<size_t>(o) * row_bytes, xt, blocks, out);
              for (int t = 0; t < tokens; ++t) y[(t0 + t) * out_features + o] = out[t];
            }
          }
        }
      },
      /*balanced=*/true);
}

}  // namespace gemma4::kernels::simd
