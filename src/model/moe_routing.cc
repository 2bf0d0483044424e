#include "model/moe_routing.h"

#include <algorithm>
#include <numeric>

#include "kernels/ops.h"

namespace gemma4 {

void route_token(float* router_logits, int64_t experts, int64_t top_k, const float* per_expert_scale, int64_t* order,
                 ExpertChoice* choices) {
  float* p = router_logits;
  kernels::softmax_inplace(p, experts);
  std::iota(order, order + experts, int64_t{0});
  std::partial_sort(order, order + top_k, order + experts,
                    [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  float chosen_sum = 0.0f;
  for (int64_t k = 0; k < top_k; ++k) chosen_sum += p[order[k]];
  for (int64_t k = 0; k < top_k; ++k) {
    const int64_t e = order[k];
    const float scale = per_expert_scale ? per_expert_scale[e] : 1.0f;
    choices[k] = {e, p[e] / chosen_sum * scale};
  }
}

}  // namespace gemma4
