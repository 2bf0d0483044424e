// Gemma4Config: defaults live in the header; here are validation and the per-layer rules.
#include <gemma4/config.h>
#include <gemma4/error.h>

#include <cmath>

namespace gemma4 {
namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw Error("invalid Gemma4Backbone config: " + message);
}

std::string arg(const char* name, int64_t value) { return std::string(name) + "=" + std::to_string(value); }

}  // namespace

const char* layer_type_name(LayerType type) {
  return type == LayerType::kFull ? "full_attention" : "sliding_attention";
}

void Gemma4Config::validate() const {
  require(vocabulary_size > 0, "vocabulary_size must be a positive integer (got " + std::to_string(vocabulary_size) + ")");
  require(num_layers > 0, "num_layers must be a positive integer (got " + std::to_string(num_layers) + ")");
  require(num_query_heads > 0, "num_query_heads must be positive (got " + std::to_string(num_query_heads) + ")");
  require(num_key_value_heads > 0, "num_key_value_heads must be positive (got " + std::to_string(num_key_value_heads) + ")");
  require(hidden_dim > 0, "hidden_dim must be positive (got " + std::to_string(hidden_dim) + ")");
  require(intermediate_dim > 0, "intermediate_dim must be positive (got " + std::to_string(intermediate_dim) + ")");
  require(head_dim > 0 && head_dim % 2 == 0, "head_dim must be a positive even number (got " + std::to_string(head_dim) + ")");
  require(num_query_heads % num_key_value_heads == 0,
          "num_query_heads must be a multiple of num_key_value_heads (" + arg("num_query_heads", num_query_heads) +
              ", " + arg("num_key_value_heads", num_key_value_heads) + ")");
  if (global_head_dim) {
    require(*global_head_dim > 0 && *global_head_dim % 2 == 0,
            "global_head_dim must be a positive even number (got " + std::to_string(*global_head_dim) + ")");
  }
  if (num_global_key_value_heads) {
    require(*num_global_key_value_heads > 0 && num_query_heads % *num_global_key_value_heads == 0,
            "num_query_heads must be a multiple of num_global_key_value_heads (" + arg("num_query_heads", num_query_heads) +
                ", " + arg("num_global_key_value_heads", *num_global_key_value_heads) + ")");
  }
  require(sliding_window_size > 0, "sliding_window_size must be positive (got " + std::to_string(sliding_window_size) + ")");
  require(sliding_window_pattern > 0,
          "sliding_window_pattern must be positive (got " + std::to_string(sliding_window_pattern) + ")");
  require(layer_types.empty() || static_cast<int64_t>(layer_types.size()) == num_layers,
          "layer_types has " + std::to_string(layer_types.size()) + " entries but num_layers=" + std::to_string(num_layers));
  require(local_rope_scaling_factor > 0, "local_rope_scaling_factor must be positive");
  require(global_rope_scaling_factor > 0, "global_rope_scaling_factor must be positive");
  require(!local_rope_wavelength || *local_rope_wavelength > 0, "local_rope_wavelength must be positive");
  require(!global_rope_wavelength || *global_rope_wavelength > 0, "global_rope_wavelength must be positive");
  require(global_rope_partial_rotary_factor > 0 && global_rope_partial_rotary_factor <= 1,
          "global_rope_partial_rotary_factor must be in (0, 1] (got " + std::to_string(global_rope_partial_rotary_factor) + ")");
  require(layer_norm_epsilon > 0, "layer_norm_epsilon must be positive");
  require(!attention_logit_soft_cap || *attention_logit_soft_cap > 0, "attention_logit_soft_cap must be positive when set");
  require(!final_logit_soft_cap || *final_logit_soft_cap > 0, "final_logit_soft_cap must be positive when set");
  require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
  require(num_kv_shared_layers >= 0 && num_kv_shared_layers < num_layers,
          "num_kv_shared_layers must be in [0, num_layers) (" + arg("num_kv_shared_layers", num_kv_shared_layers) + ", " +
              arg("num_layers", num_layers) + ")");
  if (num_kv_shared_layers > 0) {
    for (int64_t layer = first_kv_shared_layer(); layer < num_layers; ++layer) {
      require(kv_donor(layer) != layer,
              "KV-shared layer " + std::to_string(layer) + " (" + layer_type_name(layer_type(layer)) +
                  ") has no earlier non-shared layer of the same type to share keys and values with");
    }
  }
  require(hidden_size_per_layer_input >= 0, "hidden_size_per_layer_input must be >= 0");
  require(!vocab_size_per_layer_input || *vocab_size_per_layer_input > 0, "vocab_size_per_layer_input must be positive when set");
  if (enable_moe_block) {
    require(num_experts.has_value() && *num_experts > 0, "enable_moe_block=True requires num_experts (a positive integer)");
    require(expert_intermediate_dim.has_value() && *expert_intermediate_dim > 0,
            "enable_moe_block=True requires expert_intermediate_dim (a positive integer)");
    require(num_experts_per_token > 0 && num_experts_per_token <= *num_experts,
            "num_experts_per_token must be in [1, num_experts] (" + arg("num_experts_per_token", num_experts_per_token) +
                ", " + arg("num_experts", *num_experts) + ")");
  }
  if (is_embedding_model) {
    require(pooling_intermediate_dim.has_value() && *pooling_intermediate_dim > 0,
            "is_embedding_model=True requires pooling_intermediate_dim");
    require(embedding_dim.has_value() && *embedding_dim > 0, "is_embedding_model=True requires embedding_dim");
  }
  require(dtype.empty() || dtype == "float32" || dtype == "bfloat16" || dtype == "float16",
          "dtype must be float32, bfloat16 or float16 (got '" + dtype + "')");
}

LayerType Gemma4Config::layer_type(int64_t layer) const {
  if (!layer_types.empty()) return layer_types.at(static_cast<size_t>(layer));
  return layer % sliding_window_pattern == sliding_window_pattern - 1 ? LayerType::kFull : LayerType::kSliding;
}

bool Gemma4Config::is_windowed(int64_t layer) const {
  return use_sliding_window_attention && !use_bidirectional_attention && !is_global(layer);
}

int64_t Gemma4Config::layer_head_dim(int64_t layer) const {
  return is_global(layer) && global_head_dim ? *global_head_dim : head_dim;
}

bool Gemma4Config::uses_k_eq_v(int64_t layer) const {
  return is_global(layer) && num_global_key_value_heads.has_value();
}

int64_t Gemma4Config::layer_kv_heads(int64_t layer) const {
  return uses_k_eq_v(layer) ? *num_global_key_value_heads : num_key_value_heads;
}

bool Gemma4Config::is_kv_shared(int64_t layer) const {
  return num_kv_shared_layers > 0 && layer >= first_kv_shared_layer();
}

int64_t Gemma4Config::kv_donor(int64_t layer) const {
  if (!is_kv_shared(layer)) return layer;
  // The last non-shared layer of the same attention type.
  for (int64_t candidate = first_kv_shared_layer() - 1; candidate >= 0; --candidate) {
    if (layer_type(candidate) == layer_type(layer)) return candidate;
  }
  return layer;  // no donor: validate() reports it
}

int64_t Gemma4Config::ffn_width(int64_t layer) const {
  return use_double_wide_mlp && is_kv_shared(layer) ? 2 * intermediate_dim : intermediate_dim;
}

double Gemma4Config::rope_wavelength(int64_t layer) const {
  return is_global(layer) ? global_rope_wavelength.value_or(1e6) : local_rope_wavelength.value_or(1e4);
}

double Gemma4Config::rope_scaling_factor(int64_t layer) const {
  return is_global(layer) ? global_rope_scaling_factor : local_rope_scaling_factor;
}

int64_t Gemma4Config::rope_pairs(int64_t layer) const {
  const int64_t dim = layer_head_dim(layer);
  if (!is_global(layer)) return dim / 2;
  // KerasHub: rotary_dim = max(2, floor(f * dim) rounded down to even); pairs = rotary_dim / 2.
  int64_t rotary_dim = static_cast<int64_t>(std::floor(global_rope_partial_rotary_factor * static_cast<double>(dim)));
  rotary_dim -= rotary_dim % 2;
  if (rotary_dim < 2) rotary_dim = 2;
  return rotary_dim / 2;
}

}  // namespace gemma4
