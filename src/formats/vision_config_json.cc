// The vision encoder's config from a KerasHub or Hugging Face config.json.
#include <gemma4/error.h>
#include <gemma4/vision.h>

#include <nlohmann/json.hpp>

#include "formats/json_file.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

template <typename T>
void read(const json& object, const char* key, T& field) {
  if (object.contains(key) && !object[key].is_null()) field = object[key].get<T>();
}

// KerasHub: {"config": {"vision_encoder": {"config": {...}}}}; null when absent.
const json* keras_vision(const json& root) {
  if (!root.contains("config") || !root["config"].is_object()) return nullptr;
  const json& backbone = root["config"];
  if (!backbone.contains("vision_encoder") || !backbone["vision_encoder"].is_object()) return nullptr;
  const json& encoder = backbone["vision_encoder"];
  return encoder.contains("config") && encoder["config"].is_object() ? &encoder["config"] : &encoder;
}

const json* hf_vision(const json& root) {
  return root.contains("vision_config") && root["vision_config"].is_object() ? &root["vision_config"] : nullptr;
}

VisionConfig from_keras(const json& v) {
  VisionConfig c;
  read(v, "hidden_dim", c.hidden_dim);
  read(v, "num_layers", c.num_layers);
  read(v, "num_heads", c.num_heads);
  c.num_key_value_heads = c.num_heads;
  read(v, "num_key_value_heads", c.num_key_value_heads);
  read(v, "head_dim", c.head_dim);
  read(v, "intermediate_dim", c.intermediate_dim);
  read(v, "patch_size", c.patch_size);
  read(v, "pool_size", c.pool_size);
  read(v, "position_embedding_size", c.position_table_size);
  read(v, "rope_max_wavelength", c.rope_wavelength);
  read(v, "layer_norm_epsilon", c.norm_epsilon);
  c.use_clipped_linears = true;  // Gemma4VisionEncoder's default
  read(v, "use_clipped_linears", c.use_clipped_linears);
  read(v, "standardize", c.standardize);
  read(v, "output_dim", c.output_dim);
  return c;
}

VisionConfig from_hf(const json& root, const json& v) {
  VisionConfig c;
  read(v, "hidden_size", c.hidden_dim);
  read(v, "num_hidden_layers", c.num_layers);
  read(v, "num_attention_heads", c.num_heads);
  c.num_key_value_heads = c.num_heads;
  read(v, "num_key_value_heads", c.num_key_value_heads);
  read(v, "head_dim", c.head_dim);
  read(v, "intermediate_size", c.intermediate_dim);
  read(v, "patch_size", c.patch_size);
  read(v, "pooling_kernel_size", c.pool_size);
  read(v, "position_embedding_size", c.position_table_size);
  if (v.contains("rope_parameters") && v["rope_parameters"].is_object()) {
    read(v["rope_parameters"], "rope_theta", c.rope_wavelength);
  }
  read(v, "rms_norm_eps", c.norm_epsilon);
  read(v, "use_clipped_linears", c.use_clipped_linears);
  read(v, "standardize", c.standardize);
  if (root.contains("text_config") && root["text_config"].is_object()) {
    read(root["text_config"], "hidden_size", c.output_dim);
  }
  return c;
}

}  // namespace

bool has_vision_config(const std::string& config_json_path) {
  const json root = read_json_file(config_json_path);
  return keras_vision(root) != nullptr || hf_vision(root) != nullptr;
}

VisionConfig vision_config_from_json(const std::string& path) {
  const json root = read_json_file(path);
  VisionConfig c;
  try {
    if (const json* v = keras_vision(root)) {
      c = from_keras(*v);
    } else if (const json* v = hf_vision(root)) {
      c = from_hf(root, *v);
    } else {
      throw Error(path + ": no vision encoder config (expected config.vision_encoder for KerasHub or "
                  "vision_config for Hugging Face)");
    }
  } catch (const json::exception& e) {
    throw Error(path + ": vision encoder config entry of an unexpected type (" + e.what() + ")");
  }
  if (c.output_dim <= 0) throw Error(path + ": vision encoder output width (text hidden size) is missing");
  if (c.hidden_dim <= 0 || c.num_layers < 0 || c.num_heads <= 0 || c.head_dim <= 0 || c.patch_size <= 0 ||
      c.pool_size <= 0 || c.position_table_size <= 0) {
    throw Error(path + ": vision encoder config has a non-positive size");
  }
  return c;
}

}  // namespace gemma4
