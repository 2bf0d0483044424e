// Presets: the built-in named presets (KerasHub's gemma4_presets.py plus the configurations behind
// them), locating a preset on disk (a folder, a GGUF file, a named preset, kaggle:// and hf://
// handles in the KaggleHub and Hugging Face caches) and building a backbone from one.
//
//   auto arch = gemma4::architecture_from_preset("gemma4_31b");   // config only: no weights, ~no memory
//   arch.parameter_count();                                       // 31,273,088,876 (as KerasHub counts)
//   auto model = gemma4::backbone_from_preset("gemma4_instruct_2b");           // weights from the caches
//   auto tiny  = gemma4::backbone_from_preset("/my/folder", {.load_weights = false, .seed = 7});
#pragma once

#include <gemma4/audio.h>
#include <gemma4/backbone.h>
#include <gemma4/config.h>
#include <gemma4/load_options.h>
#include <gemma4/vision.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gemma4 {

// The extra layers of a Gemma4AssistantCausalLM (MTP draft model) around its backbone.
struct AssistantHeadConfig {
  int64_t backbone_hidden_size = 0;  // hidden_dim of the target model
  bool use_ordered_embeddings = true;
  int64_t num_centroids = 2048;
  int64_t centroid_intermediate_top_k = 32;
};

struct PresetInfo {
  std::string name;         // "gemma4_instruct_2b"
  std::string description;  // KerasHub's metadata description
  int64_t metadata_params;  // KerasHub's metadata "params" (rounded)
  std::string kaggle_handle;  // "kaggle://keras/gemma4/keras/gemma4_instruct_2b/2"
  std::string hf_repo;        // "google/gemma-4-E2B-it"
  Gemma4Config config;        // the text backbone
  std::optional<VisionConfig> vision;
  std::optional<AudioConfig> audio;
  std::optional<AssistantHeadConfig> assistant;
};

// The twelve built-in presets, in KerasHub's order.
const std::vector<PresetInfo>& builtin_presets();
// nullptr if `name` is not a built-in preset.
const PresetInfo* find_builtin_preset(const std::string& name);

// Parameter counts as KerasHub's count_params() counts them.
int64_t count_vision_parameters(const VisionConfig& vision);
int64_t count_audio_parameters(const AudioConfig& audio);
// pre/post projections and centroids (token_ordering, a non-trainable lookup table, is not counted).
int64_t count_assistant_head_parameters(const AssistantHeadConfig& head, int64_t hidden_dim);

// Where a preset lives on disk. Throws gemma4::Error listing every place looked at and how to get the
// files when it is not found. Accepts: an existing folder or file; a built-in preset name (looked up
// in the KaggleHub cache, then the Hugging Face cache); kaggle://<owner>/<model>/<framework>/<variation>[/<version>];
// hf://<owner>/<repo>; modelscope://<owner>/<repo>. Caches honour KAGGLEHUB_CACHE, HF_HUB_CACHE,
// HUGGINGFACE_HUB_CACHE, HF_HOME, MODELSCOPE_CACHE, XDG_CACHE_HOME and HOME, as the kagglehub, huggingface_hub
// and modelscope clients do. Only the caches are searched; the loaders download what is missing (gemma4/hub.h).
std::string resolve_preset_path(const std::string& preset);

// Options of from_preset: the options every loader takes (gemma4/load_options.h).
using PresetOptions = LoadOptions;

// The architecture of a preset without any weights: built from a built-in preset's table entry, or
// from the config.json (or GGUF metadata) of a folder/file. Allocates nothing proportional to the model.
struct PresetArchitecture {
  std::string preset;  // as given
  std::string path;    // where it was found on disk; "" for a built-in preset not read from disk
  Gemma4Config config;
  std::optional<VisionConfig> vision;
  std::optional<AudioConfig> audio;
  std::optional<AssistantHeadConfig> assistant;

  int64_t text_parameter_count() const;
  // Text + vision + audio (+ assistant head), as KerasHub counts the preset.
  int64_t parameter_count() const;
  // Materializes seeded random weights (storage per `dtype`, see PresetOptions) as a text Backbone.
  std::unique_ptr<Backbone> build_random_backbone(uint64_t seed, const std::string& dtype = "") const;
};

// load_weights=false never reads weights: a built-in name needs nothing on disk.
PresetArchitecture architecture_from_preset(const std::string& preset, const PresetOptions& options = {});
// KerasHub's Gemma4Backbone.from_preset: the text backbone with the preset's weights (or random ones).
std::unique_ptr<Backbone> backbone_from_preset(const std::string& preset, const PresetOptions& options = {});

// Applies KerasHub-named overrides to a config and validates the result (exposed for the CLI and tests).
Gemma4Config apply_config_overrides(const Gemma4Config& config, const std::map<std::string, std::string>& overrides);

}  // namespace gemma4
