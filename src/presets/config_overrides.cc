// Config overrides for from_preset(**kwargs): the config is written as a KerasHub Gemma4Backbone config
// object, the overrides replace keys of that object, and the result is read back (and validated) by the
// one KerasHub config reader, so an override means exactly what the same key means in a config.json.
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <nlohmann/json.hpp>

namespace gemma4 {
namespace {

using json = nlohmann::json;

template <typename T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json config_to_keras_object(const Gemma4Config& c) {
  json o;
  o["vocabulary_size"] = c.vocabulary_size;
  o["image_size"] = optional_json(c.image_size);
  o["num_layers"] = c.num_layers;
  o["num_query_heads"] = c.num_query_heads;
  o["num_key_value_heads"] = c.num_key_value_heads;
  o["hidden_dim"] = c.hidden_dim;
  o["intermediate_dim"] = c.intermediate_dim;
  o["head_dim"] = c.head_dim;
  o["query_head_dim_normalize"] = c.query_head_dim_normalize;
  o["attention_logit_soft_cap"] = optional_json(c.attention_logit_soft_cap);
  o["final_logit_soft_cap"] = optional_json(c.final_logit_soft_cap);
  o["use_sliding_window_attention"] = c.use_sliding_window_attention;
  o["sliding_window_size"] = c.sliding_window_size;
  o["sliding_window_pattern"] = c.sliding_window_pattern;
  o["global_head_dim"] = optional_json(c.global_head_dim);
  o["local_rope_scaling_factor"] = c.local_rope_scaling_factor;
  o["global_rope_scaling_factor"] = c.global_rope_scaling_factor;
  o["num_audio_tokens_per_clip"] = optional_json(c.num_audio_tokens_per_clip);
  o["layer_norm_epsilon"] = c.layer_norm_epsilon;
  o["use_bidirectional_attention"] = c.use_bidirectional_attention;
  o["use_vision_bidirectional_attention"] = c.use_vision_bidirectional_attention;
  o["dropout"] = c.dropout;
  o["is_embedding_model"] = c.is_embedding_model;
  o["pooling_intermediate_dim"] = optional_json(c.pooling_intermediate_dim);
  o["embedding_dim"] = optional_json(c.embedding_dim);
  o["num_kv_shared_layers"] = c.num_kv_shared_layers;
  o["num_global_key_value_heads"] = optional_json(c.num_global_key_value_heads);
  o["hidden_size_per_layer_input"] = c.hidden_size_per_layer_input;
  o["vocab_size_per_layer_input"] = optional_json(c.vocab_size_per_layer_input);
  o["global_rope_wavelength"] = optional_json(c.global_rope_wavelength);
  o["local_rope_wavelength"] = optional_json(c.local_rope_wavelength);
  o["global_rope_partial_rotary_factor"] = c.global_rope_partial_rotary_factor;
  o["use_double_wide_mlp"] = c.use_double_wide_mlp;
  o["enable_moe_block"] = c.enable_moe_block;
  o["num_experts"] = optional_json(c.num_experts);
  o["expert_intermediate_dim"] = optional_json(c.expert_intermediate_dim);
  o["num_experts_per_token"] = c.num_experts_per_token;
  o["dtype"] = c.dtype.empty() ? json(nullptr) : json(c.dtype);
  if (c.layer_types.empty()) {
    o["layer_types"] = nullptr;
  } else {
    json types = json::array();
    for (LayerType type : c.layer_types) types.push_back(layer_type_name(type));
    o["layer_types"] = types;
  }
  return o;
}

// The smallest period of a layer-type list (5 for E2B's [S,S,S,S,F]x7), so that changing num_layers
// alone can extend or cut the same pattern, as a smaller model of the same family would have.
std::vector<LayerType> resize_pattern(const std::vector<LayerType>& types, int64_t layers) {
  size_t period = types.size();
  for (size_t p = 1; p < types.size(); ++p) {
    bool repeats = true;
    for (size_t i = p; i < types.size() && repeats; ++i) repeats = types[i] == types[i % p];
    if (repeats) {
      period = p;
      break;
    }
  }
  std::vector<LayerType> out;
  for (int64_t i = 0; i < layers; ++i) out.push_back(types[static_cast<size_t>(i) % period]);
  return out;
}

json parse_value(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return json(text);  // a bare word such as bfloat16 is a string
  }
}

}  // namespace

Gemma4Config apply_config_overrides(const Gemma4Config& config, const std::map<std::string, std::string>& overrides) {
  if (overrides.empty()) return config;
  json object = config_to_keras_object(config);
  std::string known;
  for (const auto& [key, value] : object.items()) known += (known.empty() ? "" : ", ") + key;
  for (const auto& [key, text] : overrides) {
    if (!object.contains(key)) {
      throw Error("unknown Gemma4Backbone argument '" + key + "' in the preset overrides; known arguments: " + known);
    }
    object[key] = parse_value(text);
  }
  // Changing only num_layers keeps the layer-type pattern of the preset instead of failing on its length.
  if (overrides.count("num_layers") && !overrides.count("layer_types") && !config.layer_types.empty() &&
      object["num_layers"].is_number_integer()) {
    const std::vector<LayerType> types = resize_pattern(config.layer_types, object["num_layers"].get<int64_t>());
    json list = json::array();
    for (LayerType type : types) list.push_back(layer_type_name(type));
    object["layer_types"] = list;
  }
  Gemma4Config result = config_from_keras_json(object.dump(), "preset overrides");
  // Token ids and the context length are not Gemma4Backbone arguments: keep the preset's.
  result.pad_token_id = config.pad_token_id;
  result.bos_token_id = config.bos_token_id;
  result.eos_token_ids = config.eos_token_ids;
  result.max_position_embeddings = config.max_position_embeddings;
  return result;
}

}  // namespace gemma4
