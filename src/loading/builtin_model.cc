#include "loading/builtin_model.h"

namespace gemma4 {

bool is_builtin_model(const std::string& name) { return name == kBuiltinTinyModel; }

Gemma4Config builtin_tiny_config() {
  Gemma4Config c;
  c.vocabulary_size = 512;
  c.num_layers = 6;
  c.num_query_heads = 4;
  c.num_key_value_heads = 2;
  c.hidden_dim = 64;
  c.intermediate_dim = 128;
  c.head_dim = 16;
  c.global_head_dim = 32;
  c.layer_types = {LayerType::kSliding, LayerType::kSliding, LayerType::kFull,
                   LayerType::kSliding, LayerType::kSliding, LayerType::kFull};
  c.sliding_window_size = 16;
  c.global_rope_partial_rotary_factor = 0.25;
  c.final_logit_soft_cap = 30.0;
  c.hidden_size_per_layer_input = 8;
  c.num_kv_shared_layers = 2;
  c.use_double_wide_mlp = true;
  c.max_position_embeddings = 2048;
  c.validate();
  return c;
}

}  // namespace gemma4
