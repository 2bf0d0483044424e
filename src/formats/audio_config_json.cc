// The audio encoder config from a KerasHub or Hugging Face config.json.
#include <gemma4/audio.h>
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include "formats/json_file.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

// A null output_proj_dims means "no output_proj" (KerasHub's None).
void read_output_proj_dims(const json& object, int64_t& field) {
  if (object.contains("output_proj_dims")) field = object["output_proj_dims"].is_null() ? 0 : object["output_proj_dims"].get<int64_t>();
}

template <typename T>
void read(const json& object, const char* key, T& field) {
  if (object.contains(key) && !object[key].is_null()) field = object[key].get<T>();
}

// KerasHub: {"class_name": "Gemma4Backbone", "config": {..., "audio_encoder": {"config": {...}}}}.
const json* keras_audio_encoder(const json& root) {
  const json& backbone = root.contains("config") && root["config"].is_object() ? root["config"] : root;
  if (!backbone.contains("audio_encoder") || !backbone["audio_encoder"].is_object()) return nullptr;
  const json& encoder = backbone["audio_encoder"];
  return encoder.contains("config") && encoder["config"].is_object() ? &encoder["config"] : &encoder;
}

const json* hf_audio_config(const json& root) {
  if (!root.contains("audio_config") || !root["audio_config"].is_object()) return nullptr;
  return &root["audio_config"];
}

AudioConfig from_keras(const json& a) {
  AudioConfig c;
  read(a, "input_feat_size", c.input_feat_size);
  read(a, "hidden_size", c.hidden_size);
  read(a, "num_heads", c.num_heads);
  read(a, "num_layers", c.num_layers);
  read(a, "chunk_size", c.chunk_size);
  read(a, "context_left", c.context_left);
  read(a, "context_right", c.context_right);
  read(a, "logit_cap", c.logit_cap);
  read(a, "invalid_logit_value", c.invalid_logit_value);
  read(a, "conv_kernel_size", c.conv_kernel_size);
  read(a, "reduction_factor", c.reduction_factor);
  read(a, "residual_weight", c.residual_weight);
  read(a, "gradient_clipping", c.gradient_clipping);
  read(a, "sscp_conv_channels", c.sscp_conv_channels);
  read(a, "sscp_kernel_sizes", c.sscp_kernel_sizes);
  read(a, "sscp_stride_sizes", c.sscp_stride_sizes);
  read_output_proj_dims(a, c.output_proj_dims);
  read(a, "output_dim", c.output_dim);
  read(a, "norm_eps", c.norm_eps);
  read(a, "sscp_norm_eps", c.sscp_norm_eps);
  read(a, "use_clipped_linears", c.use_clipped_linears);
  return c;
}

AudioConfig from_hf(const json& root, const json& a) {
  AudioConfig c;
  read(a, "hidden_size", c.hidden_size);
  read(a, "num_hidden_layers", c.num_layers);
  read(a, "num_attention_heads", c.num_heads);
  read(a, "subsampling_conv_channels", c.sscp_conv_channels);
  read(a, "conv_kernel_size", c.conv_kernel_size);
  read(a, "residual_weight", c.residual_weight);
  read(a, "attention_chunk_size", c.chunk_size);
  read(a, "attention_context_left", c.context_left);
  read(a, "attention_context_right", c.context_right);
  read(a, "attention_logit_cap", c.logit_cap);
  read(a, "attention_invalid_logits_value", c.invalid_logit_value);
  read(a, "use_clipped_linears", c.use_clipped_linears);
  read(a, "rms_norm_eps", c.norm_eps);
  read(a, "gradient_clipping", c.gradient_clipping);
  read_output_proj_dims(a, c.output_proj_dims);
  // HF configs do not state the mel count, SSCP kernels/strides/eps or reduction factor; the fixtures
  // carry them in "keras_hub_extensions", released checkpoints use the defaults.
  if (root.contains("keras_hub_extensions") && root["keras_hub_extensions"].is_object()) {
    const json& x = root["keras_hub_extensions"];
    read(x, "audio_input_feat_size", c.input_feat_size);
    read(x, "audio_sscp_kernel_sizes", c.sscp_kernel_sizes);
    read(x, "audio_sscp_stride_sizes", c.sscp_stride_sizes);
    read(x, "audio_sscp_norm_eps", c.sscp_norm_eps);
    read(x, "audio_reduction_factor", c.reduction_factor);
  }
  if (root.contains("text_config") && root["text_config"].is_object()) read(root["text_config"], "hidden_size", c.output_dim);
  return c;
}

}  // namespace

bool has_audio_config(const std::string& config_json_path) {
  const json root = read_json_file(config_json_path);
  return keras_audio_encoder(root) != nullptr || hf_audio_config(root) != nullptr;
}

AudioConfig audio_config_from_json(const std::string& config_json_path) {
  const json root = read_json_file(config_json_path);
  try {
    if (const json* a = keras_audio_encoder(root)) return from_keras(*a);
    if (const json* a = hf_audio_config(root)) return from_hf(root, *a);
  } catch (const json::exception& e) {
    throw Error(config_json_path + ": audio encoder config has a field of an unexpected type (" + e.what() + ")");
  }
  throw Error(config_json_path + ": no audio encoder config (expected \"audio_encoder\" or \"audio_config\")");
}

}  // namespace gemma4
