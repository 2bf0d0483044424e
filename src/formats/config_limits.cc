#include "formats/config_limits.h"

#include <gemma4/error.h>

namespace gemma4 {

void check_config_limit(int64_t value, int64_t limit, const char* field, const std::string& where) {
  if (value > limit) {
    throw Error(where + ": " + field + " is " + std::to_string(value) + ", above the limit of " + std::to_string(limit));
  }
}

void check_config_limits(const Gemma4Config& c, const std::string& where) {
  check_config_limit(c.num_layers, kMaxConfigLayers, "num_layers", where);
  check_config_limit(c.vocabulary_size, kMaxConfigVocabulary, "vocabulary_size", where);
  check_config_limit(c.vocab_size_per_layer_input.value_or(0), kMaxConfigVocabulary, "vocab_size_per_layer_input", where);
  check_config_limit(c.hidden_dim, kMaxConfigWidth, "hidden_dim", where);
  check_config_limit(c.intermediate_dim, kMaxConfigWidth, "intermediate_dim", where);
  check_config_limit(c.expert_intermediate_dim.value_or(0), kMaxConfigWidth, "expert_intermediate_dim", where);
  check_config_limit(c.hidden_size_per_layer_input, kMaxConfigWidth, "hidden_size_per_layer_input", where);
  check_config_limit(c.pooling_intermediate_dim.value_or(0), kMaxConfigWidth, "pooling_intermediate_dim", where);
  check_config_limit(c.embedding_dim.value_or(0), kMaxConfigWidth, "embedding_dim", where);
  check_config_limit(c.num_query_heads, kMaxConfigHeads, "num_query_heads", where);
  check_config_limit(c.num_key_value_heads, kMaxConfigHeads, "num_key_value_heads", where);
  check_config_limit(c.num_global_key_value_heads.value_or(0), kMaxConfigHeads, "num_global_key_value_heads", where);
  check_config_limit(c.head_dim, kMaxConfigHeadDim, "head_dim", where);
  check_config_limit(c.global_head_dim.value_or(0), kMaxConfigHeadDim, "global_head_dim", where);
  check_config_limit(c.num_experts.value_or(0), kMaxConfigExperts, "num_experts", where);
  check_config_limit(c.num_experts_per_token, kMaxConfigExperts, "num_experts_per_token", where);
  check_config_limit(c.max_position_embeddings, kMaxConfigPositions, "max_position_embeddings", where);
  check_config_limit(c.sliding_window_size, kMaxConfigPositions, "sliding_window_size", where);
  check_config_limit(c.num_kv_shared_layers, kMaxConfigLayers, "num_kv_shared_layers", where);
  check_config_limit(static_cast<int64_t>(c.eos_token_ids.size()), 1024, "the number of eos_token_id entries", where);
}

}  // namespace gemma4
