#include "model/moe_routing.h"

#include <algorithm>
#include <numeric>

#include "kernels/ops.h"

namespace gemma4 {

std::vector<ExpertChoice> route_token(float* router_logits, int64_t experts, int64_t top_k,
                                      const float* per_expert_scale) {
  float* p = router_logits;
  kernels::softmax_inplace(p, experts);
  std::vector<int64_t> order(static_cast<size_t>(experts));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + top_k, order.end(),
                    [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  float chosen_sum = 0.0f;
  for (int64_t k = 0; k < top_k; ++k) chosen_sum += p[order[k]];
  std::vector<ExpertChoice> choices;
  choices.reserve(static_cast<size_t>(top_k));
  for (int64_t k = 0; k < top_k; ++k) {
    const int64_t e = order[k];
    const float scale = per_expert_scale ? per_expert_scale[e] : 1.0f;
    choices.push_back({e, p[e] / chosen_sum * scale});
  }
  return choices;
}

}  // namespace gemma4
