// Mixture-of-experts routing of one token: softmax over every expert, keep the top k, renormalise the
// kept probabilities to sum to 1, then multiply each by its expert's own scale (transformers' order).
#pragma once

#include <cstdint>

namespace gemma4 {

struct ExpertChoice {
  int64_t expert;
  float weight;
};

// Writes the token's `top_k` choices, most probable first, to `choices`. `router_logits` [experts] is
// overwritten with the softmax; `order` [experts] is working memory. Ties go to the lower expert index.
// `per_expert_scale` may be null (scale 1).
void route_token(float* router_logits, int64_t experts, int64_t top_k, const float* per_expert_scale, int64_t* order,
                 ExpertChoice* choices);

}  // namespace gemma4
