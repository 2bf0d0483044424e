#include "train/attention_grads.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace gemma4::train {
namespace {

float capped_score(const float* q, const float* k, int64_t head_dim, double soft_cap) {
  float score = kernels::dot(q, k, head_dim);
  if (soft_cap > 0.0) score = static_cast<float>(soft_cap * std::tanh(score / soft_cap));
  return score;
}

// d(capped)/d(raw) from the capped value.
float cap_slope(float capped, double soft_cap) {
  if (soft_cap <= 0.0) return 1.0f;
  const double t = capped / soft_cap;
  return static_cast<float>(1.0 - t * t);
}

bool sees(const AttentionGeometry& g, int64_t query, int64_t key) {
  const KeyRange range = visible_keys(g.rule, query, g.length);
  return key >= range.first && key <= range.last;
}

// Runs fn(task) for task in [0, count) over the global pool.
template <typename Fn>
void for_each_task(int64_t count, const Fn& fn) {
  ThreadPool::global().parallel_for(count, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) fn(task);
  });
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, const AttentionGeometry& g, float* context,
                       AttentionStats& stats) {
  const int64_t d = g.head_dim, group = g.q_heads / g.kv_heads;
  const int64_t q_row = g.q_heads * d, kv_row = g.kv_heads * d;
  stats.max.assign(static_cast<size_t>(g.length * g.q_heads), 0.0f);
  stats.inverse_sum.assign(static_cast<size_t>(g.length * g.q_heads), 0.0f);
  std::fill_n(context, g.length * q_row, 0.0f);
  const int threads = ThreadPool::global().num_threads();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads), std::vector<float>(static_cast<size_t>(g.length)));
  ThreadPool::global().parallel_for(threads, [&](int64_t slice_begin, int64_t slice_end) {
    for (int64_t slice = slice_begin; slice < slice_end; ++slice) {
      float* scores = scratch[static_cast<size_t>(slice)].data();
      int64_t begin, end;
      ThreadPool::split(g.length * g.q_heads, threads, static_cast<int>(slice), &begin, &end);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t t = task / g.q_heads, h = task % g.q_heads;
        const float* query = q + t * q_row + h * d;
        const int64_t offset = (h / group) * d;
        const KeyRange range = visible_keys(g.rule, t, g.length);
        const int64_t count = range.last - range.first + 1;
        if (count <= 0) continue;
        for (int64_t j = range.first; j <= range.last; ++j) {
          scores[j - range.first] = capped_score(query, k + j * kv_row + offset, d, g.soft_cap);
        }
        // kernels::softmax_inplace's arithmetic, keeping its max and inverse sum.
        const float max_value = *std::max_element(scores, scores + count);
        double sum = 0.0;
        for (int64_t i = 0; i < count; ++i) {
          scores[i] = std::exp(scores[i] - max_value);
          sum += scores[i];
        }
        const float inverse = static_cast<float>(1.0 / sum);
        stats.max[static_cast<size_t>(task)] = max_value;
        stats.inverse_sum[static_cast<size_t>(task)] = inverse;
        float* out = context + t * q_row + h * d;
        for (int64_t i = 0; i < count; ++i) kernels::axpy(scores[i] * inverse, v + (range.first + i) * kv_row + offset, out, d);
      }
    }
  });
}

void attention_backward(const float* q, const float* k, const float* v, const float* dcontext,
                        const AttentionStats& stats, const AttentionGeometry& g, float* dq, float* dk, float* dv) {
  const int64_t d = g.head_dim, group = g.q_heads / g.kv_heads;
  const int64_t q_row = g.q_heads * d, kv_row = g.kv_heads * d;
  const int64_t tasks = g.length * g.q_heads;
  // delta[t, h] = sum_j p_j dp_j with dp_j = dcontext . v_j (the softmax backward's row term).
  std::vector<double> delta(static_cast<size_t>(tasks), 0.0);
  auto probability = [&](int64_t task, float score) {
    return std::exp(score - stats.max[static_cast<size_t>(task)]) * stats.inverse_sum[static_cast<size_t>(task)];
  };
  // Pass 1, one (query, head) per task: delta and dq.
  for_each_task(tasks, [&](int64_t task) {
    const int64_t t = task / g.q_heads, h = task % g.q_heads;
    const float* query = q + t * q_row + h * d;
    const float* grad = dcontext + t * q_row + h * d;
    const int64_t offset = (h / group) * d;
    const KeyRange range = visible_keys(g.rule, t, g.length);
    double sum = 0.0;
    for (int64_t j = range.first; j <= range.last; ++j) {
      const float p = probability(task, capped_score(query, k + j * kv_row + offset, d, g.soft_cap));
      sum += static_cast<double>(p) * kernels::dot(grad, v + j * kv_row + offset, d);
    }
    delta[static_cast<size_t>(task)] = sum;
    float* dquery = dq + t * q_row + h * d;
    for (int64_t j = range.first; j <= range.last; ++j) {
      const float* key = k + j * kv_row + offset;
      const float score = capped_score(query, key, d, g.soft_cap);
      const float p = probability(task, score);
      const double dp = kernels::dot(grad, v + j * kv_row + offset, d);
      const float dz = static_cast<float>(p * (dp - sum)) * cap_slope(score, g.soft_cap);
      kernels::axpy(dz, key, dquery, d);
    }
  });
  // Pass 2, one (key, kv head) per task: dk and dv from every query head of the group that sees the key.
  for_each_task(g.length * g.kv_heads, [&](int64_t task) {
    const int64_t j = task / g.kv_heads, kv_head = task % g.kv_heads;
    const int64_t offset = kv_head * d;
    const float* key = k + j * kv_row + offset;
    const float* value = v + j * kv_row + offset;
    float* dkey = dk + j * kv_row + offset;
    float* dvalue = dv + j * kv_row + offset;
    for (int64_t t = 0; t < g.length; ++t) {
      if (!sees(g, t, j)) continue;
      for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        const int64_t qt = t * g.q_heads + h;
        const float* query = q + t * q_row + h * d;
        const float* grad = dcontext + t * q_row + h * d;
        const float score = capped_score(query, key, d, g.soft_cap);
        const float p = probability(qt, score);
        const double dp = kernels::dot(grad, value, d);
        const float dz = static_cast<float>(p * (dp - delta[static_cast<size_t>(qt)])) * cap_slope(score, g.soft_cap);
        kernels::axpy(dz, query, dkey, d);
        kernels::axpy(p, grad, dvalue, d);
      }
    }
  });
}

}  // namespace gemma4::train
