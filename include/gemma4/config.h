// Gemma4Config: every constructor argument of KerasHub's Gemma4Backbone, with its documented default,
// plus `layer_types`. Field names follow KerasHub; docs/config.md maps them to Hugging Face names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gemma4 {

enum class LayerType { kSliding, kFull };

struct Gemma4Config {
  // Required arguments of Gemma4Backbone (0 = not set; validate() rejects that).
  int64_t vocabulary_size = 0;
  std::optional<int64_t> image_size;  // stored only; does not change the computation
  int64_t num_layers = 0;
  int64_t num_query_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t hidden_dim = 0;
  int64_t intermediate_dim = 0;
  int64_t head_dim = 0;

  // Optional arguments with KerasHub's defaults.
  bool query_head_dim_normalize = true;  // unused by Gemma 4 (query scaling is always 1.0)
  std::optional<double> attention_logit_soft_cap;
  std::optional<double> final_logit_soft_cap;
  bool use_sliding_window_attention = true;
  int64_t sliding_window_size = 512;
  int64_t sliding_window_pattern = 6;
  std::optional<int64_t> global_head_dim;
  double local_rope_scaling_factor = 1.0;
  double global_rope_scaling_factor = 1.0;
  std::optional<int64_t> num_audio_tokens_per_clip;
  double layer_norm_epsilon = 1e-6;
  bool use_bidirectional_attention = false;
  bool use_vision_bidirectional_attention = false;
  double dropout = 0.0;  // training only
  bool is_embedding_model = false;
  std::optional<int64_t> pooling_intermediate_dim;
  std::optional<int64_t> embedding_dim;
  int64_t num_kv_shared_layers = 0;
  std::optional<int64_t> num_global_key_value_heads;  // set => global layers use K=V
  int64_t hidden_size_per_layer_input = 0;
  std::optional<int64_t> vocab_size_per_layer_input;
  std::optional<double> global_rope_wavelength;  // None -> 1e6
  std::optional<double> local_rope_wavelength;   // None -> 1e4
  double global_rope_partial_rotary_factor = 1.0;
  bool use_double_wide_mlp = false;
  bool enable_moe_block = false;
  std::optional<int64_t> num_experts;
  std::optional<int64_t> expert_intermediate_dim;
  int64_t num_experts_per_token = 8;
  std::string dtype;  // "" (float32), "float32", "bfloat16" or "float16": compute/storage policy

  // Explicit per-layer attention types; empty means "derive from sliding_window_pattern".
  std::vector<LayerType> layer_types;

  // Token ids the backbone needs (Hugging Face config values, Gemma defaults).
  int64_t pad_token_id = 0;
  int64_t bos_token_id = 2;
  std::vector<int64_t> eos_token_ids = {1};
  int64_t max_position_embeddings = 131072;

  // Throws gemma4::Error naming the argument and the rule it breaks.
  void validate() const;

  // --- Per-layer questions, answered in one place. ---
  LayerType layer_type(int64_t layer) const;
  bool is_global(int64_t layer) const { return layer_type(layer) == LayerType::kFull; }
  // Sliding window applies to this layer (never with bidirectional attention, as in KerasHub).
  bool is_windowed(int64_t layer) const;
  int64_t layer_head_dim(int64_t layer) const;
  bool uses_k_eq_v(int64_t layer) const;
  int64_t layer_kv_heads(int64_t layer) const;
  int64_t first_kv_shared_layer() const { return num_layers - num_kv_shared_layers; }
  bool is_kv_shared(int64_t layer) const;
  // The layer whose keys/values a KV-shared layer reads; the layer itself otherwise.
  int64_t kv_donor(int64_t layer) const;
  int64_t ffn_width(int64_t layer) const;
  double rope_wavelength(int64_t layer) const;
  double rope_scaling_factor(int64_t layer) const;
  // Number of rotated dimension pairs of this layer's head (head_dim/2 for full RoPE).
  int64_t rope_pairs(int64_t layer) const;
  bool has_ple() const { return hidden_size_per_layer_input > 0; }
  int64_t ple_vocab_size() const { return vocab_size_per_layer_input.value_or(vocabulary_size); }
};

// Readers for the two config.json flavours (formats/). Both validate the result.
// Hugging Face: model_type "gemma4" (with text_config) or "gemma4_text".
Gemma4Config config_from_hf_json(const std::string& json_text, const std::string& where);
// KerasHub: {"class_name": "Gemma4Backbone", "config": {...}} or the bare config object.
Gemma4Config config_from_keras_json(const std::string& json_text, const std::string& where);
// Reads a config.json of either flavour.
Gemma4Config config_from_file(const std::string& path);
// Reads <folder>/config.json (and a sentence-transformers pooling head beside it).
Gemma4Config config_from_folder(const std::string& folder);
// Writes a Hugging Face config.json text (model_type gemma4_text) for this config.
std::string config_to_hf_json(const Gemma4Config& config);
// Writes a KerasHub config.json text ({"class_name": "Gemma4Backbone", "config": {every argument}}).
std::string config_to_keras_json(const Gemma4Config& config);

const char* layer_type_name(LayerType type);

}  // namespace gemma4
