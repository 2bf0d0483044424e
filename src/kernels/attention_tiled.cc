// Tiled (flash-style) attention: kernels::attend_tiled (attention.h). A task is one KV head and a block of
// query rows (all the query heads of that KV head together), optionally a share of the keys; it walks the
// keys in blocks of kKeyBlock, computes the block's scores in registers (head_dim in the vector lanes),
// updates each query's running maximum and denominator (online softmax) and adds the weighted values into
// an unnormalised sum that stays in L1/L2. Blocks no query of the task can see are skipped before any
// arithmetic. The tile kernels are compiled for AVX-512, for AVX2 + FMA and portably
// (attention_tiled.inc); float32 arithmetic throughout, whether the keys and values are stored as float32,
// bf16 or q8_0 (each tile load widens them in registers).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu_features.h"

// The portable eight-lane vectors are passed between internal functions only: no ABI to keep.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace gemma4::kernels {
namespace {

constexpr int64_t kKeyBlock = 64;      // keys per block: 64 x 512 floats of keys stay in L2
constexpr int64_t kQueryVectors = 32;  // query vectors (rows x heads of a group) per task, at least one row
constexpr int64_t kMinSplitKeys = 256; // a share of the keys smaller than this is not worth a thread

struct TaskSpan {
  int64_t kv_head = 0;
  int64_t r0 = 0, r1 = 0;            // query rows
  int64_t k_begin = 0, k_end = 0;    // keys [k_begin, k_end)
};

struct TaskScratch {
  std::vector<float> scores;  // [vectors][kKeyBlock]
  std::vector<const float*> query_ptrs;
  std::vector<float*> score_ptrs, out_ptrs;
  std::vector<int64_t> row_lo, row_hi, active;
  std::vector<float> o, m, l;  // a task's sums when it writes straight to the output

  void reserve(int64_t vectors, int64_t rows, int64_t dim) {
    if (static_cast<int64_t>(query_ptrs.size()) >= vectors && static_cast<int64_t>(o.size()) >= vectors * dim &&
        static_cast<int64_t>(row_lo.size()) >= rows) {
      return;
    }
    scores.assign(static_cast<size_t>(vectors * kKeyBlock), 0.0f);
    query_ptrs.assign(static_cast<size_t>(vectors), nullptr);
    score_ptrs.assign(static_cast<size_t>(vectors), nullptr);
    out_ptrs.assign(static_cast<size_t>(vectors), nullptr);
    row_lo.assign(static_cast<size_t>(rows), 0);
    row_hi.assign(static_cast<size_t>(rows), 0);
    active.assign(static_cast<size_t>(vectors), 0);
    o.assign(static_cast<size_t>(vectors * dim), 0.0f);
    m.assign(static_cast<size_t>(vectors), 0.0f);
    l.assign(static_cast<size_t>(vectors), 0.0f);
  }
};

using RunTaskFn = void (*)(const TiledAttention&, const TaskSpan&, float*, float*, float*, TaskScratch&);

namespace portable {
#define GEMMA4_ATT_TARGET
using V = float;
constexpr int64_t kLanes = 1;
constexpr int kQkQueries = 4, kQkKeys = 4, kPvQueries = 4, kPvVectors = 4;
inline V vload(const float* p) { return *p; }
inline void vstore(float* p, V v) { *p = v; }
inline V vzero() { return 0.0f; }
inline V vset1(float x) { return x; }
inline V vfma(V a, V b, V c) { return a * b + c; }
inline V vmul(V a, V b) { return a * b; }
inline float vhsum(V v) { return v; }
inline V vload_bf16(const uint16_t* p) {
  const uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}
inline V vload_i8(const int8_t* p) { return static_cast<float>(*p); }
inline float exp_shift_sum(float* s, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - shift));
  return sum;
}
#include "kernels/attention_tiled.inc"
#undef GEMMA4_ATT_TARGET
}  // namespace portable

// Portable with eight lanes (GCC vector extensions: SSE on any x86-64), for when head_dim allows: eight
// partial sums per dot product keep the rounding of 512-long sums as small as the SIMD kernels'.
namespace portable8 {
#define GEMMA4_ATT_TARGET
typedef float V __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;
constexpr int kQkQueries = 2, kQkKeys = 4, kPvQueries = 4, kPvVectors = 2;
inline V vload(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void vstore(float* p, V v) { std::memcpy(p, &v, sizeof(v)); }
inline V vzero() { return V{}; }
inline V vset1(float x) { return V{} + x; }
inline V vfma(V a, V b, V c) { return a * b + c; }
inline V vmul(V a, V b) { return a * b; }
inline float vhsum(V v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }
typedef uint16_t Half8 __attribute__((vector_size(16)));
typedef uint32_t Word8 __attribute__((vector_size(32)));
typedef int8_t Byte8 __attribute__((vector_size(8)));
inline V vload_bf16(const uint16_t* p) {
  Half8 h;
  std::memcpy(&h, p, sizeof(h));
  const Word8 w = __builtin_convertvector(h, Word8) << 16;
  V v;
  std::memcpy(&v, &w, sizeof(v));
  return v;
}
inline V vload_i8(const int8_t* p) {
  Byte8 b;
  std::memcpy(&b, p, sizeof(b));
  return __builtin_convertvector(b, V);
}
inline float exp_shift_sum(float* s, int64_t n, float shift) { return portable::exp_shift_sum(s, n, shift); }
#include "kernels/attention_tiled.inc"
#undef GEMMA4_ATT_TARGET
}  // namespace portable8

#if defined(__x86_64__)
namespace avx2 {
#define GEMMA4_ATT_TARGET __attribute__((target("avx2,fma")))
using V = __m256;
constexpr int64_t kLanes = 8;
// 2 x 4 score accumulators + 4 keys + 1 query, 4 x 2 value accumulators + 2 values + 1 weight: <= 16 ymm.
constexpr int kQkQueries = 2, kQkKeys = 4, kPvQueries = 4, kPvVectors = 2;
GEMMA4_ATT_TARGET inline V vload(const float* p) { return _mm256_loadu_ps(p); }
GEMMA4_ATT_TARGET inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
GEMMA4_ATT_TARGET inline V vzero() { return _mm256_setzero_ps(); }
GEMMA4_ATT_TARGET inline V vset1(float x) { return _mm256_set1_ps(x); }
GEMMA4_ATT_TARGET inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
GEMMA4_ATT_TARGET inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
GEMMA4_ATT_TARGET inline V vload_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
GEMMA4_ATT_TARGET inline V vload_i8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
GEMMA4_ATT_TARGET inline float vhsum(V v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}
// exp(v) for v clamped to [-87.3, 88.3]: v = n ln2 + r, exp(r) by its degree-7 Taylor polynomial, times 2^n
// through the exponent bits (as ops_simd.cc's exp_avx2); inputs below the clamp (masked keys) give 0.
GEMMA4_ATT_TARGET inline V vexp(V v) {
  const __m256 tiny = _mm256_cmp_ps(v, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(two_n)));
}
GEMMA4_ATT_TARGET inline float exp_shift_sum(float* s, int64_t n, float shift) {
  const __m256 minus = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = vexp(_mm256_sub_ps(_mm256_loadu_ps(s + j), minus));
    _mm256_storeu_ps(s + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = vhsum(acc);
  for (; j < n; ++j) sum += (s[j] = std::exp(s[j] - shift));
  return sum;
}
#include "kernels/attention_tiled.inc"
#undef GEMMA4_ATT_TARGET
}  // namespace avx2

// GCC 12 warns about an uninitialised operand inside its own AVX-512 reduction intrinsics.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace avx512 {
#define GEMMA4_ATT_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
using V = __m512;
constexpr int64_t kLanes = 16;
// 4 x 4 score accumulators + 4 keys + 1 query, 4 x 4 value accumulators + 4 values + 1 weight: <= 32 zmm.
constexpr int kQkQueries = 4, kQkKeys = 4, kPvQueries = 4, kPvVectors = 4;
GEMMA4_ATT_TARGET inline V vload(const float* p) { return _mm512_loadu_ps(p); }
GEMMA4_ATT_TARGET inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
GEMMA4_ATT_TARGET inline V vzero() { return _mm512_setzero_ps(); }
GEMMA4_ATT_TARGET inline V vset1(float x) { return _mm512_set1_ps(x); }
GEMMA4_ATT_TARGET inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
GEMMA4_ATT_TARGET inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
GEMMA4_ATT_TARGET inline V vload_bf16(const uint16_t* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
GEMMA4_ATT_TARGET inline V vload_i8(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
GEMMA4_ATT_TARGET inline float vhsum(V v) { return _mm512_reduce_add_ps(v); }
GEMMA4_ATT_TARGET inline V vexp(V v) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(v, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i two_n = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(static_cast<__mmask16>(~tiny), p, _mm512_castsi512_ps(two_n));
}
GEMMA4_ATT_TARGET inline float exp_shift_sum(float* s, int64_t n, float shift) {
  const __m512 minus = _mm512_set1_ps(shift);
  __m512 acc = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 e = vexp(_mm512_sub_ps(_mm512_loadu_ps(s + j), minus));
    _mm512_storeu_ps(s + j, e);
    acc = _mm512_add_ps(acc, e);
  }
  if (j < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - j)) - 1u);
    const __m512 e = vexp(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + j), minus));
    _mm512_mask_storeu_ps(s + j, tail, e);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(tail, e));
  }
  return vhsum(acc);
}
#include "kernels/attention_tiled.inc"
#undef GEMMA4_ATT_TARGET
}  // namespace avx512
#pragma GCC diagnostic pop
#endif

RunTaskFn pick(AttentionIsa isa, int64_t dim, KvType type) {
#if defined(__x86_64__)
  const CpuFeatures& cpu = cpu_features();
  const bool want512 = isa == AttentionIsa::kBest || isa == AttentionIsa::kAvx512;
  const bool want2 = want512 || isa == AttentionIsa::kAvx2;
  if (want512 && cpu.avx512 && dim % 16 == 0) return avx512::task_for(type);
  if (want2 && cpu.avx2 && dim % 8 == 0) return avx2::task_for(type);
#endif
  (void)isa;
  return dim % 8 == 0 ? portable8::task_for(type) : portable::task_for(type);
}

// out = o / l per query vector of a task (zeros where no key was seen).
void normalise(const TiledAttention& pr, const TaskSpan& task, const float* o, const float* l) {
  const int64_t dim = pr.options.head_dim;
  const int64_t group = pr.heads / pr.kv_heads;
  for (int64_t i = 0; i < (task.r1 - task.r0) * group; ++i) {
    float* out = pr.out + (task.r0 + i / group) * pr.row_stride + (task.kv_head * group + i % group) * dim;
    const float inverse = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    for (int64_t d = 0; d < dim; ++d) out[d] = o[i * dim + d] * inverse;
  }
}

}  // namespace

void attend_tiled(const TiledAttention& pr, ThreadPool& pool, AttentionIsa isa) {
  const int64_t dim = pr.options.head_dim;
  if (pr.rows <= 0 || pr.heads <= 0) return;
  if (dim <= 0 || pr.kv_heads <= 0 || pr.heads % pr.kv_heads != 0) {
    throw Error("tiled attention: " + std::to_string(pr.heads) + " query heads over " + std::to_string(pr.kv_heads) +
                " KV heads of head_dim " + std::to_string(dim) + " do not form whole groups");
  }
  if (pr.kv.type == KvType::kQ8_0 && (dim % 32 != 0 || pr.kv_head_stride % 32 != 0 || pr.kv.stride % 32 != 0)) {
    throw Error("tiled attention: q8_0 keys and values need head_dim, the KV head stride and the row stride in "
                "whole blocks of 32 (head_dim " + std::to_string(dim) + ", row stride " + std::to_string(pr.kv.stride) +
                ")");
  }
  const RunTaskFn run = pick(isa, dim, pr.kv.type);
  const int64_t group = pr.heads / pr.kv_heads;
  const int64_t block_rows = std::max<int64_t>(1, kQueryVectors / group);
  const int64_t blocks = (pr.rows + block_rows - 1) / block_rows;
  const int threads = pool.num_threads();

  // Tasks, the blocks of later rows (more keys under a causal mask) first so the pool's chunks even out.
  static thread_local std::vector<TaskSpan> tasks;
  tasks.clear();
  int64_t work = 0;  // query-key pairs
  const int64_t base_tasks = blocks * pr.kv_heads;
  for (int64_t b = blocks - 1; b >= 0; --b) {
    const int64_t r0 = b * block_rows, r1 = std::min(pr.rows, r0 + block_rows);
    int64_t k_begin = INT64_MAX, k_end = INT64_MIN;
    for (int64_t r = r0; r < r1; ++r) {
      if (pr.first[r] > pr.last[r]) continue;
      k_begin = std::min(k_begin, pr.first[r]);
      k_end = std::max(k_end, pr.last[r] + 1);
    }
    if (k_begin >= k_end) k_begin = k_end = 0;  // no row sees anything: the task writes zeros
    work += (k_end - k_begin) * (r1 - r0);
    int64_t splits = 1;
    if (base_tasks < 2 * threads) {
      splits = std::min<int64_t>((2 * threads + base_tasks - 1) / base_tasks, (k_end - k_begin) / kMinSplitKeys);
      splits = std::max<int64_t>(splits, 1);
    }
    for (int64_t h = 0; h < pr.kv_heads; ++h) {
      for (int64_t s = 0; s < splits; ++s) {
        TaskSpan t;
        t.kv_head = h, t.r0 = r0, t.r1 = r1;
        // Shares on key-block boundaries so no block is cut in two.
        const int64_t span_blocks = (k_end - k_begin + kKeyBlock - 1) / kKeyBlock;
        t.k_begin = std::min(k_end, k_begin + span_blocks * s / splits * kKeyBlock);
        t.k_end = std::min(k_end, k_begin + span_blocks * (s + 1) / splits * kKeyBlock);
        tasks.push_back(t);
      }
    }
  }
  const int64_t count = static_cast<int64_t>(tasks.size());
  const int64_t vectors = block_rows * group;
  const bool split = count > base_tasks;
  // With split keys each task leaves its partial sums (o, m, l) here for the merge below.
  static thread_local std::vector<float> partial;
  const int64_t partial_stride = vectors * (dim + 2);
  if (split) partial.resize(static_cast<size_t>(count * partial_stride));
  float* partial_data = partial.data();
  // Thread-locals are not captured: the workers must see this thread's task list.
  const TaskSpan* task_list = tasks.data();

  auto body = [&](int64_t begin, int64_t end) {
    static thread_local TaskScratch scratch;
    scratch.reserve(vectors, block_rows, dim);
    for (int64_t index = begin; index < end; ++index) {
      const TaskSpan& task = task_list[index];
      if (split) {
        float* base = partial_data + index * partial_stride;
        run(pr, task, base, base + vectors * dim, base + vectors * (dim + 1), scratch);
      } else {
        run(pr, task, scratch.o.data(), scratch.m.data(), scratch.l.data(), scratch);
        normalise(pr, task, scratch.o.data(), scratch.l.data());
      }
    }
  };
  const double multiply_adds = 2.0 * static_cast<double>(work) * static_cast<double>(pr.heads * dim);
  if (threads == 1 || count == 1 || multiply_adds < 65536.0) {
    body(0, count);
  } else {
    pool.parallel_for_balanced(count, count, body);
  }
  if (!split) return;

  // Merge the key shares of each (block, KV head): rescale each share to the common maximum.
  static thread_local std::vector<float> merged_o, merged_l;
  for (int64_t first = 0; first < count;) {
    int64_t next = first + 1;
    while (next < count && tasks[next].r0 == tasks[first].r0 && tasks[next].kv_head == tasks[first].kv_head) ++next;
    const TaskSpan& task = tasks[first];
    const int64_t n = (task.r1 - task.r0) * group;
    merged_o.assign(static_cast<size_t>(n * dim), 0.0f);
    merged_l.assign(static_cast<size_t>(n), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      float top = -INFINITY;
      for (int64_t s = first; s < next; ++s) top = std::max(top, partial_data[s * partial_stride + vectors * dim + i]);
      if (top == -INFINITY) continue;
      for (int64_t s = first; s < next; ++s) {
        const float* base = partial_data + s * partial_stride;
        const float share_max = base[vectors * dim + i];
        if (share_max == -INFINITY) continue;
        const float weight = std::exp(share_max - top);
        merged_l[i] += weight * base[vectors * (dim + 1) + i];
        for (int64_t d = 0; d < dim; ++d) merged_o[i * dim + d] += weight * base[i * dim + d];
      }
    }
    normalise(pr, task, merged_o.data(), merged_l.data());
    first = next;
  }
}

}  // namespace gemma4::kernels
