// Scaled dot-product attention of one query head over a run of key positions: the scores, the mask
// (a predicate the caller supplies), the optional tanh soft cap, the softmax and the weighted sum of the
// values. The one core under the text decoder's, the vision encoder's and the audio conformer's
// attention. Nothing here knows about Gemma; the mask rules themselves live with the models.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <gemma4/error.h>
#include <gemma4/kv_type.h>

#include "kernels/ops.h"

namespace gemma4 {
class ThreadPool;
}

namespace gemma4::kernels {

// Keys and values of one head as rows `stride` elements apart, one row per position. With `ring` > 0 the
// rows form a ring buffer: position p is stored in row p % ring. float32 rows are `keys`/`values`; the
// narrower storage types (attend_tiled only; `type` says which) are `key_data`/`value_data`: bf16 as uint16
// bits, q8_0 as int8 with one float scale per 32 elements, element e of the buffer scaled by
// key_scales[e / 32] (so row offsets and stride must be multiples of 32).
struct KeyValueRows {
  const float* keys = nullptr;
  const float* values = nullptr;
  int64_t stride = 0;
  int64_t ring = 0;
  KvType type = KvType::kF32;
  const void* key_data = nullptr;
  const void* value_data = nullptr;
  const float* key_scales = nullptr;
  const float* value_scales = nullptr;

  int64_t row(int64_t position) const { return ring > 0 ? position % ring : position; }
  // float32 rows only (attend and attend_reference read these).
  const float* key(int64_t position) const { return keys + row(position) * stride; }
  const float* value(int64_t position) const { return values + row(position) * stride; }
};

struct AttentionOptions {
  // How the soft cap and the softmax are evaluated. kDouble: the cap's tanh in double, the softmax sum in
  // double and each weight scaled by its inverse (kernels::softmax_inplace). kFloat: everything in float32,
  // each weight divided by the float sum (the audio encoder's reference arithmetic).
  enum class Precision { kDouble, kFloat };

  int64_t head_dim = 0;
  float scale = 1.0f;     // multiplies q.k
  double soft_cap = 0.0;  // > 0: score = soft_cap * tanh(score / soft_cap)
  Precision precision = Precision::kDouble;
};

// Working memory of one thread: room for the scores and positions of `capacity` keys.
struct AttentionScratch {
  float* scores = nullptr;
  int64_t* positions = nullptr;
  int64_t capacity = 0;
};

// No additive score term.
struct NoScoreBias {};

// out[head_dim] += sum over the positions j in [first, last] with visible(j) of p_j * v_j, where
// p = softmax over those j of cap(scale * q.k_j + bias(j)), keys taken in increasing position order.
// Returns how many keys were attended; with none, out is left untouched (a fully masked row).
// The span [first, last] must fit the scratch (last - first + 1 <= scratch.capacity).
template <typename Visible, typename Bias = NoScoreBias>
int64_t attend(const float* q, const KeyValueRows& kv, int64_t first, int64_t last, const Visible& visible,
               const AttentionOptions& options, const AttentionScratch& scratch, float* out,
               const Bias& bias = {}) {
  const int64_t head_dim = options.head_dim;
  if (last - first + 1 > scratch.capacity) {
    throw Error("attention over " + std::to_string(last - first + 1) + " keys exceeds its scratch of " +
                std::to_string(scratch.capacity));
  }
  int64_t count = 0;
  for (int64_t j = first; j <= last; ++j) {
    if (!visible(j)) continue;
    float score = dot(q, kv.key(j), head_dim) * options.scale;
    if constexpr (!std::is_same_v<Bias, NoScoreBias>) score += bias(j);
    if (options.soft_cap > 0.0) {
      if (options.precision == AttentionOptions::Precision::kDouble) {
        score = static_cast<float>(options.soft_cap * std::tanh(score / options.soft_cap));
      } else {
        const float cap = static_cast<float>(options.soft_cap);
        score = cap * std::tanh(score / cap);
      }
    }
    scratch.scores[count] = score;
    scratch.positions[count] = j;
    ++count;
  }
  if (count == 0) return 0;
  float* p = scratch.scores;
  if (options.precision == AttentionOptions::Precision::kDouble) {
    softmax_inplace(p, count);
  } else {
    float max_score = p[0];
    for (int64_t i = 1; i < count; ++i) max_score = p[i] > max_score ? p[i] : max_score;
    float sum = 0.0f;
    for (int64_t i = 0; i < count; ++i) {
      p[i] = std::exp(p[i] - max_score);
      sum += p[i];
    }
    for (int64_t i = 0; i < count; ++i) p[i] /= sum;
  }
  for (int64_t i = 0; i < count; ++i) axpy(scratch.scores[i], kv.value(scratch.positions[i]), out, head_dim);
  return count;
}

// The plain reference twin of attend for tests: everything in double whatever the precision asked,
// masked keys through -infinity, the softmax written out. Same contract (returns the number of keys
// attended, adds into out).
template <typename Visible, typename Bias = NoScoreBias>
int64_t attend_reference(const float* q, const KeyValueRows& kv, int64_t first, int64_t last, const Visible& visible,
                         const AttentionOptions& options, double* scores, float* out, const Bias& bias = {}) {
  const int64_t head_dim = options.head_dim;
  const int64_t span = last - first + 1;
  double max_score = -INFINITY;
  int64_t count = 0;
  for (int64_t s = 0; s < span; ++s) {
    const int64_t j = first + s;
    scores[s] = -INFINITY;
    if (!visible(j)) continue;
    double score = 0.0;
    for (int64_t d = 0; d < head_dim; ++d) score += static_cast<double>(q[d]) * kv.key(j)[d];
    score *= options.scale;
    if constexpr (!std::is_same_v<Bias, NoScoreBias>) score += bias(j);
    if (options.soft_cap > 0.0) score = options.soft_cap * std::tanh(score / options.soft_cap);
    scores[s] = score;
    max_score = score > max_score ? score : max_score;
    ++count;
  }
  if (count == 0) return 0;
  double sum = 0.0;
  for (int64_t s = 0; s < span; ++s) {
    scores[s] = std::exp(scores[s] - max_score);  // exp(-inf) = 0 for masked keys
    sum += scores[s];
  }
  for (int64_t d = 0; d < head_dim; ++d) {
    double value = 0.0;
    for (int64_t s = 0; s < span; ++s) {
      if (scores[s] != 0.0) value += scores[s] / sum * kv.value(first + s)[d];
    }
    out[d] += static_cast<float>(value);
  }
  return count;
}

// Many query rows at once (a prompt chunk or one decoded token), every query head, through tiled
// (flash-style) attention (attention_tiled.cc): blocks of queries against blocks of keys with an online
// softmax, no score matrix over the whole context. The query heads that share a KV head are processed
// together so each block of keys and values is read once for all of them. The mask comes as data: each
// query row sees the keys [first[r], last[r]] (absolute positions; empty when last < first), less the
// padding positions of key_valid. Every mask rule of the text decoder reduces to that (its visible keys
// form one run; model/attention_mask.h).
struct TiledAttention {
  const float* queries = nullptr;  // row r, query head h at queries + r * row_stride + h * head_dim
  float* out = nullptr;            // same layout; written, not added: a row that sees no key gets zeros
  int64_t rows = 0;
  int64_t heads = 0;               // query heads; head h reads KV head h / (heads / kv_heads)
  int64_t row_stride = 0;          // floats between consecutive rows of queries and of out
  KeyValueRows kv;                 // KV head 0; KV head g starts kv_head_stride elements further into each row
  int64_t kv_heads = 1;
  int64_t kv_head_stride = 0;
  const int64_t* first = nullptr;  // [rows]
  const int64_t* last = nullptr;   // [rows]
  const uint8_t* key_valid = nullptr;  // by absolute position, 0 = padding; null: every key is valid
  AttentionOptions options;        // head_dim, scale, soft_cap; float32 arithmetic whatever precision says
};

// Which instruction set attend_tiled uses: kBest picks the widest the CPU has (cpu_features); the others
// are for tests and fall back to the portable loops where the CPU or head_dim does not allow them.
enum class AttentionIsa { kBest, kPortable, kAvx2, kAvx512 };

// Runs the problem over the pool: tasks of (KV head, block of query rows), and for few such tasks (a
// decoded token) the keys split across threads too, their partial softmax sums merged at the end.
void attend_tiled(const TiledAttention& problem, ThreadPool& pool, AttentionIsa isa = AttentionIsa::kBest);

}  // namespace gemma4::kernels
