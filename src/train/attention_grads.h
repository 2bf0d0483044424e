// Causal / sliding-window self-attention over one whole training sequence, with the statistics the
// backward pass needs (flash-attention style: no [T, T] matrix is kept). Keys and values are one layer's
// (or its KV donor's) rotated keys and normed values; queries are this layer's rotated queries.
#pragma once

#include <cstdint>
#include <vector>

#include "model/attention_mask.h"

namespace gemma4::train {

struct AttentionGeometry {
  int64_t length = 0;  // tokens T (every one valid)
  int64_t q_heads = 0, kv_heads = 0, head_dim = 0;
  MaskRule rule;
  double soft_cap = 0.0;  // > 0: score = cap tanh(q.k / cap)
};

// Per (token, query head): the softmax's max score and 1 / sum of exp(score - max).
struct AttentionStats {
  std::vector<float> max, inverse_sum;
};

// context [T, q_heads * D] = softmax(cap(q k^T)) v over the visible keys (written). q [T, q_heads * D];
// k, v [T, kv_heads * D]. Numerics as kernels::attend (kDouble).
void attention_forward(const float* q, const float* k, const float* v, const AttentionGeometry& g, float* context,
                       AttentionStats& stats);

// Adds the gradients w.r.t. q, k and v given dcontext [T, q_heads * D].
void attention_backward(const float* q, const float* k, const float* v, const float* dcontext,
                        const AttentionStats& stats, const AttentionGeometry& g, float* dq, float* dk, float* dv);

}  // namespace gemma4::train
