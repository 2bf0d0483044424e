// config.json readers and writer: Hugging Face (gemma4 / gemma4_text) and KerasHub (Gemma4Backbone).
// The name mapping follows KerasHub's convert_gemma4.py; see docs/config.md.
#include <gemma4/config.h>
#include <gemma4/error.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/file_io.h"
#include "formats/config_limits.h"
#include "formats/json_file.h"
#include "schema/config_fields.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Typed getters that name the key and the file when the value has the wrong type.
template <typename T>
T get_as(const json& object, const char* key, const std::string& where) {
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(where + ": key '" + key + "' has value " + object.at(key).dump() + ", which is not of the expected type");
  }
}

template <typename T>
void read_value(const json& object, const char* key, T& field, const std::string& where) {
  if (object.contains(key) && !object.at(key).is_null()) field = get_as<T>(object, key, where);
}

template <typename T>
void read_optional(const json& object, const char* key, std::optional<T>& field, const std::string& where) {
  if (!object.contains(key)) return;
  if (object.at(key).is_null()) {
    field.reset();
  } else {
    field = get_as<T>(object, key, where);
  }
}

// read_value for plain fields, read_optional for optional ones (null resets them to "not set").
template <typename T>
void read_field(const json& object, const char* key, T& field, const std::string& where) {
  if constexpr (config_fields::kIsOptional<T>) {
    read_optional(object, key, field, where);
  } else {
    read_value(object, key, field, where);
  }
}

// A field as JSON: null for an unset optional or an empty string (dtype "" = KerasHub's None).
template <typename T>
json field_json(const T& value) {
  if constexpr (config_fields::kIsOptional<T>) {
    return value ? json(*value) : json(nullptr);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value.empty() ? json(nullptr) : json(value);
  } else {
    return json(value);
  }
}

json layer_types_json(const std::vector<LayerType>& types) {
  json list = json::array();
  for (LayerType type : types) list.push_back(layer_type_name(type));
  return list;
}

std::vector<LayerType> parse_layer_types(const json& value, const std::string& where) {
  if (!value.is_array()) throw Error(where + ": layer_types must be a list");
  std::vector<LayerType> types;
  for (const auto& entry : value) {
    const std::string name = entry.is_string() ? entry.get<std::string>() : entry.dump();
    if (name == "full_attention") {
      types.push_back(LayerType::kFull);
    } else if (name == "sliding_attention") {
      types.push_back(LayerType::kSliding);
    } else {
      throw Error(where + ": layer_types entry '" + name + "' is neither 'full_attention' nor 'sliding_attention'");
    }
  }
  return types;
}

// Gemma4Config::validate's message, prefixed with the file it came from.
void validate_in(const Gemma4Config& config, const std::string& where) {
  try {
    config.validate();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

void read_keras_fields(const json& c, Gemma4Config& config, const std::string& where) {
  config_fields::visit_fields(config, [&](const config_fields::FieldSpec& spec, auto& field) {
    if constexpr (config_fields::kIsScalar<std::remove_cvref_t<decltype(field)>>) {
      if (spec.keras != nullptr) read_field(c, spec.keras, field, where);
    }
  });
  if (c.contains("layer_types") && !c["layer_types"].is_null()) {
    config.layer_types = parse_layer_types(c["layer_types"], where);
  }
  if (c.contains("dtype")) {
    const json& dtype = c["dtype"];
    if (dtype.is_string()) {
      config.dtype = dtype.get<std::string>();
    } else if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
               dtype["config"].contains("name") && dtype["config"]["name"].is_string()) {
      config.dtype = dtype["config"]["name"].get<std::string>();  // a serialized DTypePolicy
    }
    if (config.dtype.rfind("mixed_", 0) == 0) config.dtype.clear();
  }
}

// The Gemma4Backbone config object: every argument, None as null.
json keras_config_object(const Gemma4Config& config) {
  json o;
  config_fields::visit_fields(config, [&](const config_fields::FieldSpec& spec, const auto& field) {
    using T = std::remove_cvref_t<decltype(field)>;
    if constexpr (config_fields::kIsScalar<T> || std::is_same_v<T, std::string>) {
      if (spec.keras != nullptr) o[spec.keras] = field_json(field);
    }
  });
  o["layer_types"] = config.layer_types.empty() ? json(nullptr) : layer_types_json(config.layer_types);
  return o;
}

Gemma4Config read_keras_config(const std::string& json_text, const std::string& where) {
  const json root = parse_json(json_text, where);
  json c = root;
  if (root.contains("config") && root["config"].is_object()) {
    const std::string class_name = root.value("class_name", "");
    if (!class_name.empty() && class_name != "Gemma4Backbone") {
      throw Error(where + ": class_name is '" + class_name + "', expected 'Gemma4Backbone'");
    }
    c = root["config"];
  }
  for (const char* key : {"vocabulary_size", "num_layers", "num_query_heads", "num_key_value_heads", "hidden_dim",
                          "intermediate_dim", "head_dim"}) {
    if (!c.contains(key)) throw Error(where + ": required Gemma4Backbone argument '" + key + "' is missing");
  }
  Gemma4Config config;
  read_keras_fields(c, config, where);
  check_config_limits(config, where);
  validate_in(config, where);
  return config;
}

Gemma4Config read_hf_config(const std::string& json_text, const std::string& where) {
  const json root = parse_json(json_text, where);
  const std::string model_type = root.value("model_type", "");
  json t;
  if (model_type == "gemma4") {
    t = root.value("text_config", json::object());
  } else if (model_type == "gemma4_text") {
    t = root;
  } else {
    throw Error(where + ": model_type is '" + model_type + "', expected 'gemma4' or 'gemma4_text'");
  }
  // Hugging Face Gemma4TextConfig defaults for keys the file leaves out.
  Gemma4Config config;
  config.vocabulary_size = 262144;
  config.hidden_dim = 2304;
  config.intermediate_dim = 9216;
  config.num_layers = 30;
  config.num_query_heads = 8;
  config.num_key_value_heads = 4;
  config.head_dim = 256;
  config.global_head_dim = 512;
  config.hidden_size_per_layer_input = 256;
  config.vocab_size_per_layer_input = 262144;
  config.global_rope_partial_rotary_factor = 0.25;

  if (t.contains("hidden_size_per_layer_input") && t["hidden_size_per_layer_input"].is_null()) {
    config.hidden_size_per_layer_input = 0;  // null means "no per-layer embeddings" here, not the default
  }
  config_fields::visit_fields(config, [&](const config_fields::FieldSpec& spec, auto& field) {
    if constexpr (config_fields::kIsScalar<std::remove_cvref_t<decltype(field)>>) {
      if (spec.hf_flags & config_fields::kHfRead) read_field(t, spec.hf, field, where);
    }
  });
  for (const json* holder : std::initializer_list<const json*>{&t, &root}) {
    if (holder->contains("eos_token_id") && !(*holder)["eos_token_id"].is_null()) {
      const json& eos = (*holder)["eos_token_id"];
      config.eos_token_ids = eos.is_array() ? eos.get<std::vector<int64_t>>() : std::vector<int64_t>{eos.get<int64_t>()};
    }
  }

  // K=V is a separate flag in Hugging Face; KerasHub switches it on by setting num_global_key_value_heads.
  const bool k_eq_v = t.value("attention_k_eq_v", false);
  if (k_eq_v) {
    int64_t heads = config.num_key_value_heads;
    if (t.contains("num_global_key_value_heads") && !t["num_global_key_value_heads"].is_null()) {
      heads = get_as<int64_t>(t, "num_global_key_value_heads", where);
    }
    config.num_global_key_value_heads = heads;
  }

  if (t.contains("layer_types") && !t["layer_types"].is_null()) {
    config.layer_types = parse_layer_types(t["layer_types"], where);
  } else {
    // Hugging Face's rule: every 6th layer is global, and the last layer always is.
    check_config_limit(config.num_layers, kMaxConfigLayers, "num_hidden_layers", where);
    config.layer_types.clear();
    for (int64_t layer = 0; layer < config.num_layers; ++layer) {
      const bool full = (layer + 1) % 6 == 0 || layer == config.num_layers - 1;
      config.layer_types.push_back(full ? LayerType::kFull : LayerType::kSliding);
    }
  }

  // transformers >= 5.15 re-saves per-layer settings as "per_layer_config": {"<layer>": {"head_dim": ...,
  // "num_key_value_heads": ...}} instead of global_head_dim / num_global_key_value_heads. The global layers'
  // values are those of the first full-attention layer listed (as llama.cpp's converter reads them).
  if (t.contains("per_layer_config") && t["per_layer_config"].is_object()) {
    const json& per_layer = t["per_layer_config"];
    std::optional<int64_t> full_head_dim, full_kv_heads;
    for (int64_t layer = 0; layer < static_cast<int64_t>(config.layer_types.size()); ++layer) {
      const auto entry = per_layer.find(std::to_string(layer));
      if (entry == per_layer.end() || !entry->is_object() || config.layer_types[layer] != LayerType::kFull) continue;
      const std::string here = where + ": per_layer_config[\"" + std::to_string(layer) + "\"]";
      if (!full_head_dim && entry->contains("head_dim")) full_head_dim = get_as<int64_t>(*entry, "head_dim", here);
      if (!full_kv_heads && entry->contains("num_key_value_heads")) {
        full_kv_heads = get_as<int64_t>(*entry, "num_key_value_heads", here);
      }
    }
    if (full_head_dim && !(t.contains("global_head_dim") && !t["global_head_dim"].is_null())) {
      config.global_head_dim = *full_head_dim;
    }
    if (full_kv_heads && k_eq_v &&
        !(t.contains("num_global_key_value_heads") && !t["num_global_key_value_heads"].is_null())) {
      config.num_global_key_value_heads = *full_kv_heads;
    }
  }

  // The compute dtype the checkpoint declares (transformers: torch_dtype, or dtype since 4.56).
  for (const json* holder : std::initializer_list<const json*>{&root, &t}) {
    for (const char* key : {"torch_dtype", "dtype"}) {
      if (holder->contains(key) && (*holder)[key].is_string()) config.dtype = (*holder)[key].get<std::string>();
    }
  }

  if (t.contains("rope_parameters") && t["rope_parameters"].is_object()) {
    const json& rope = t["rope_parameters"];
    if (rope.contains("sliding_attention")) {
      const json& local = rope["sliding_attention"];
      read_optional(local, "rope_theta", config.local_rope_wavelength, where);
      read_value(local, "factor", config.local_rope_scaling_factor, where);
    }
    if (rope.contains("full_attention")) {
      const json& global = rope["full_attention"];
      read_optional(global, "rope_theta", config.global_rope_wavelength, where);
      read_value(global, "factor", config.global_rope_scaling_factor, where);
      config.global_rope_partial_rotary_factor = 1.0;
      read_value(global, "partial_rotary_factor", config.global_rope_partial_rotary_factor, where);
    }
  } else {
    config.local_rope_wavelength = 1e4;
    config.global_rope_wavelength = 1e6;
  }

  if (t.contains("use_bidirectional_attention") && t["use_bidirectional_attention"].is_string()) {
    const std::string mode = t["use_bidirectional_attention"].get<std::string>();
    if (mode == "vision") {
      config.use_vision_bidirectional_attention = true;
    } else if (mode == "all") {
      config.use_bidirectional_attention = true;  // KerasHub meaning: no causal mask and no window
    } else {
      throw Error(where + ": use_bidirectional_attention '" + mode + "' is not one of null, 'vision', 'all'");
    }
  }
  // Settings a Hugging Face config cannot express, as written by this project and the test fixtures.
  for (const json* holder : std::initializer_list<const json*>{&root, &t}) {
    if (holder->contains("keras_hub_extensions")) read_keras_fields((*holder)["keras_hub_extensions"], config, where);
  }
  check_config_limits(config, where);
  validate_in(config, where);
  return config;
}

// A value of an unexpected JSON type that a reader above took without checking (e.g. a list where a number
// belongs) is still the file's fault: the same Error, naming the file.
template <typename Read>
Gemma4Config with_json_errors_named(Read read, const std::string& where) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": a value has the wrong JSON type or range (" + std::string(e.what()) + ")");
  }
}

}  // namespace

Gemma4Config config_from_keras_json(const std::string& json_text, const std::string& where) {
  return with_json_errors_named([&] { return read_keras_config(json_text, where); }, where);
}

Gemma4Config config_from_hf_json(const std::string& json_text, const std::string& where) {
  return with_json_errors_named([&] { return read_hf_config(json_text, where); }, where);
}

Gemma4Config config_from_file(const std::string& path) {
  const std::string text = read_file(path);
  const json root = parse_json(text, path);
  if (root.contains("model_type")) return config_from_hf_json(text, path);
  if (root.contains("class_name") || root.contains("vocabulary_size")) return config_from_keras_json(text, path);
  throw Error(path + ": neither a Hugging Face config (no model_type) nor a KerasHub config (no class_name)");
}

Gemma4Config config_from_folder(const std::string& folder) {
  const fs::path dir(folder);
  const fs::path path = dir / "config.json";
  if (!fs::exists(path)) throw Error("no config.json in '" + folder + "'");
  Gemma4Config config = config_from_file(path.string());
  // Sentence-transformers pooling head (EmbeddingGemma layout) makes the model an embedding model.
  if (fs::exists(dir / "2_Dense" / "config.json") && fs::exists(dir / "3_Dense" / "config.json")) {
    const json dense1 = read_json_file((dir / "2_Dense" / "config.json").string());
    const json dense2 = read_json_file((dir / "3_Dense" / "config.json").string());
    config.is_embedding_model = true;
    for (const auto* dense : {&dense1, &dense2}) {
      if (!dense->is_object() || (dense->contains("out_features") && !(*dense)["out_features"].is_number_integer())) {
        throw Error(folder + ": 2_Dense/config.json and 3_Dense/config.json need an integer \"out_features\"");
      }
    }
    config.pooling_intermediate_dim = dense1.value("out_features", int64_t{0});
    config.embedding_dim = dense2.value("out_features", int64_t{0});
    check_config_limits(config, folder);
    validate_in(config, folder);
  }
  return config;
}

std::string config_to_keras_json(const Gemma4Config& config) {
  const json root = {{"class_name", "Gemma4Backbone"}, {"config", keras_config_object(config)}};
  return root.dump(2) + "\n";
}

std::string config_to_hf_json(const Gemma4Config& c) {
  json t;
  json extensions;  // Gemma4Backbone settings with no (faithful) Hugging Face field
  config_fields::visit_fields(c, [&](const config_fields::FieldSpec& spec, const auto& field) {
    using T = std::remove_cvref_t<decltype(field)>;
    if constexpr (config_fields::kIsScalar<T>) {
      if (spec.hf_flags & config_fields::kHfWrite) t[spec.hf] = field_json(field);
      if (spec.hf_flags & config_fields::kHfExtension) extensions[spec.keras] = field_json(field);
    }
  });
  t["model_type"] = "gemma4_text";
  t["architectures"] = {"Gemma4ForCausalLM"};
  if (!c.dtype.empty()) t["torch_dtype"] = c.dtype;  // the declared compute dtype (docs/numerics.md)
  t["hidden_activation"] = "gelu_pytorch_tanh";
  t["tie_word_embeddings"] = true;
  // Values Hugging Face derives differently from KerasHub.
  t["global_head_dim"] = c.global_head_dim.value_or(c.head_dim);
  t["vocab_size_per_layer_input"] = c.ple_vocab_size();
  t["top_k_experts"] = c.enable_moe_block ? json(c.num_experts_per_token) : json(nullptr);
  t["attention_k_eq_v"] = c.num_global_key_value_heads.has_value();
  json types = json::array();
  for (int64_t layer = 0; layer < c.num_layers; ++layer) types.push_back(layer_type_name(c.layer_type(layer)));
  t["layer_types"] = types;
  json local = {{"rope_type", "default"}, {"rope_theta", c.local_rope_wavelength.value_or(1e4)}};
  json global = {{"rope_type", "proportional"},
                 {"partial_rotary_factor", c.global_rope_partial_rotary_factor},
                 {"rope_theta", c.global_rope_wavelength.value_or(1e6)}};
  if (c.local_rope_scaling_factor != 1.0) local["factor"] = c.local_rope_scaling_factor;
  if (c.global_rope_scaling_factor != 1.0) global["factor"] = c.global_rope_scaling_factor;
  t["rope_parameters"] = {{"sliding_attention", local}, {"full_attention", global}};
  t["use_bidirectional_attention"] = c.use_vision_bidirectional_attention ? json("vision") : json(nullptr);
  t["eos_token_id"] = c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids);
  t["keras_hub_extensions"] = extensions;
  return t.dump(2) + "\n";
}

}  // namespace gemma4
