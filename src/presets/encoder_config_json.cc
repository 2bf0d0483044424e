// The vision and audio encoder sizes of a Hugging Face config.json (vision_config / audio_config), so a
// downloaded folder's parameter count includes its encoders as a built-in preset's does.
#include "presets/encoder_config_json.h"

#include <gemma4/error.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gemma4::presets {
namespace {

using json = nlohmann::json;

template <typename T>
void read(const json& object, const char* key, T& field) {
  if (object.contains(key) && !object[key].is_null()) field = object[key].get<T>();
}

}  // namespace

EncoderConfigs encoders_from_hf_config(const std::string& path, int64_t text_width) {
  EncoderConfigs out;
  std::ifstream in(path);
  if (!in) return out;
  std::stringstream text;
  text << in.rdbuf();
  json root;
  try {
    root = json::parse(text.str());
  } catch (const json::exception&) {
    return out;  // the config reader reports bad JSON with its own message
  }
  try {
    if (root.contains("vision_config") && root["vision_config"].is_object()) {
      const json& v = root["vision_config"];
      VisionEncoderConfig vision;
      vision.use_clipped_linears = false;  // Gemma4VisionConfig default
      read(v, "hidden_size", vision.hidden_dim);
      read(v, "num_hidden_layers", vision.num_layers);
      read(v, "num_attention_heads", vision.num_heads);
      vision.num_key_value_heads = vision.num_heads;
      read(v, "num_key_value_heads", vision.num_key_value_heads);
      read(v, "head_dim", vision.head_dim);
      read(v, "intermediate_size", vision.intermediate_dim);
      read(v, "patch_size", vision.patch_size);
      read(v, "pooling_kernel_size", vision.pool_size);
      read(v, "position_embedding_size", vision.position_table_size);
      read(v, "use_clipped_linears", vision.use_clipped_linears);
      read(v, "standardize", vision.standardize);
      vision.output_dim = text_width;
      out.vision = vision;
    }
    if (root.contains("audio_config") && root["audio_config"].is_object()) {
      const json& a = root["audio_config"];
      AudioEncoderConfig audio;
      read(a, "hidden_size", audio.hidden_size);
      read(a, "num_hidden_layers", audio.num_layers);
      read(a, "num_attention_heads", audio.num_heads);
      read(a, "conv_kernel_size", audio.conv_kernel_size);
      read(a, "subsampling_conv_channels", audio.sscp_conv_channels);
      read(a, "output_proj_dims", audio.output_proj_dims);
      read(a, "use_clipped_linears", audio.use_clipped_linears);
      audio.output_dim = text_width;
      out.audio = audio;
    }
  } catch (const json::exception& e) {
    throw Error(path + ": vision_config / audio_config entry of an unexpected type (" + e.what() + ")");
  }
  return out;
}

}  // namespace gemma4::presets
