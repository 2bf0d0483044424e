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

// Q4_K (144 bytes: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles):
// sum = d * xd * sum_j scale_j (q . x)_j - dmin * xd * sum_j min_j * (sum of x over sub-block j).
GEMMA4_TARGET_AVX2 float dot_q4_k(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8KBlock* x = static_cast<const Q8KBlock*>(xv);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += 144) {
    prefetch(row);
    const float d = load_f16(row) * x[b].d;
    const float dmin = load_f16(row + 2) * x[b].d;
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) k4_scale_min(j, row + 4, sc[j], mn[j]);
    int sum_min = 0;
    for (int j = 0; j < 8; ++j) sum_min += mn[j] * (x[b].bsums[2 * j] + x[b].bsums[2 * j + 1]);
    acc_min -= dmin * static_cast<float>(sum_min);
    __m256i sum = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(row + 16 + 32 * c);
      const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, low), load256(x[b].q + 64 * c));
      const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), low), load256(x[b].q + 64 * c + 32));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p0, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c]))));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c + 1]))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sum), acc);
  }
  return hsum(acc) + acc_min;
}

// Q5_K (176 bytes): as Q4_K with a fifth bit per value (32 bytes, bit 2c / 2c + 1 for chunk c).
GEMMA4_TARGET_AVX2 float dot_q5_k(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8KBlock* x = static_cast<const Q8KBlock*>(xv);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0.0f;
  for (int64_t b = 0; b < blocks; ++b, row += 176) {
    prefetch(row);
    const float d = load_f16(row) * x[b].d;
    const float dmin = load_f16(row + 2) * x[b].d;
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) k4_scale_min(j, row + 4, sc[j], mn[j]);
    int sum_min = 0;
    for (int j = 0; j < 8; ++j) sum_min += mn[j] * (x[b].bsums[2 * j] + x[b].bsums[2 * j + 1]);
    acc_min -= dmin * static_cast<float>(sum_min);
    __m256i high = load256(row + 16);
    __m256i sum = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(row + 48 + 32 * c);
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(q, low), _mm256_slli_epi16(_mm256_and_si256(high, one), 4));
      high = _mm256_srli_epi16(high, 1);
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low),
                                         _mm256_slli_epi16(_mm256_and_si256(high, one), 4));
      high = _mm256_srli_epi16(high, 1);
      const __m256i p0 = _mm256_maddubs_epi16(q0, load256(x[b].q + 64 * c));
      const __m256i p1 = _mm256_maddubs_epi16(q1, load256(x[b].q + 64 * c + 32));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p0, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c]))));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<int16_t>(sc[2 * c + 1]))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sum), acc);
  }
  return hsum(acc) + acc_min;
}

// Q6_K (210 bytes: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8 scales, d): the 6-bit
// values q are unsigned; their offset -32 comes off as 32 * sum_g scale_g * (sum of x over group g).
GEMMA4_TARGET_AVX2 float dot_q6_k(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8KBlock* x = static_cast<const Q8KBlock*>(xv);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i two_bits = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b, row += 210) {
    prefetch(row);
    const int8_t* scales = reinterpret_cast<const int8_t*>(row + 192);
    const float d = load_f16(row + 208) * x[b].d;
    int offset = 0;
    for (int g = 0; g < 16; ++g) offset += scales[g] * x[b].bsums[g];
    __m256i sum = _mm256_set1_epi32(-4 * offset);  // -32 * offset, spread over the 8 lanes
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
        const __m256i p = _mm256_maddubs_epi16(q[k], load256(x[b].q + 128 * h + 32 * k));
        const int g = 8 * h + 2 * k;
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(scales[g + 1]), _mm_set1_epi16(scales[g]));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, s));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sum), acc);
  }
  return hsum(acc);
}

// IQ4_XS (136 bytes: d, 8 high scale bit pairs, 8 low scale nibbles, 128 bytes of nibbles indexing the
// IQ4_NL table): per 32 values, (scale - 32) * (table[q] . x).
GEMMA4_TARGET_AVX2 float dot_iq4_xs(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8KBlock* x = static_cast<const Q8KBlock*>(xv);
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b, row += 136) {
    prefetch(row);
    const float d = load_f16(row) * x[b].d;
    const unsigned scales_h = load_u16(row + 2);
    __m256i sum = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i w = _mm256_shuffle_epi8(table, nibbles_16(row + 8 + 16 * ib));
      const int ls = ((row[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_h >> (2 * ib)) & 3) << 4);
      const __m256i p = signed_pairs(w, load256(x[b].q + 32 * ib));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, _mm256_set1_epi16(static_cast<int16_t>(ls - 32))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sum), acc);
  }
  return hsum(acc);
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

GEMMA4_TARGET_AVX2 inline __m256 pair_sums_to_float(__m256i pairs) {
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// Q5_0 (22 bytes: d, 32 fifth bits, 16 bytes of nibbles): d * xd * ((q - 16) . x).
GEMMA4_TARGET_AVX2 float dot_q5_0(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8Block* x = static_cast<const Q8Block*>(xv);
  const __m256i sixteen = _mm256_set1_epi8(16);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b, row += 22) {
    prefetch(row);
    const __m256i w = _mm256_sub_epi8(_mm256_or_si256(nibbles_16(row + 6), fifth_bits(load_u32(row + 2))), sixteen);
    const __m256 dot = pair_sums_to_float(signed_pairs(w, load256(x[b].q)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(row) * x[b].d), dot, acc);
  }
  return hsum(acc);
}

// IQ4_NL (18 bytes: d, 16 bytes of nibbles indexing the table): d * xd * (table[q] . x).
GEMMA4_TARGET_AVX2 float dot_iq4_nl(const uint8_t* row, const void* xv, int64_t blocks) {
  const Q8Block* x = static_cast<const Q8Block*>(xv);
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b, row += 18) {
    prefetch(row);
    const __m256i w = _mm256_shuffle_epi8(table, nibbles_16(row + 2));
    const __m256 dot = pair_sums_to_float(signed_pairs(w, load256(x[b].q)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(row) * x[b].d), dot, acc);
  }
  return hsum(acc);
}

using DotFn = float (*)(const uint8_t* row, const void* x, int64_t blocks);

struct Kernel {
  DotFn dot = nullptr;
  bool k_blocks = false;  // activations in 256-value blocks (Q8KBlock), else 32 (Q8Block)
};

Kernel kernel_for(DType type) {
  switch (type) {
    case DType::Q4_K: return {&dot_q4_k, true};
    case DType::Q5_K: return {&dot_q5_k, true};
    case DType::Q6_K: return {&dot_q6_k, true};
    case DType::IQ4_XS: return {&dot_iq4_xs, true};
    case DType::Q5_0: return {&dot_q5_0, false};
    case DType::IQ4_NL: return {&dot_iq4_nl, false};
    default: return {};
  }
}

}  // namespace

bool has_int8_kquant_avx2(DType type) { return kernel_for(type).dot != nullptr; }

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
          for (int64_t t = 0; t < n; ++t) {
            const void* xt = activations + static_cast<size_t>(t) * x_row_bytes;
            float* yt = y + t * out_features;
            for (int64_t o = first; o < last; ++o) yt[o] = kernel.dot(w.data + static_cast<size_t>(o) * row_bytes, xt, blocks);
          }
        }
      },
      /*balanced=*/true);
}

}  // namespace gemma4::kernels::simd
