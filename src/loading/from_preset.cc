// from_preset: a preset's architecture (config only) and its backbone (loaded or seeded random weights),
// both through the one builder.
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>

#include "formats/model_folder.h"
#include "hub/locate_model.h"
#include "loading/build_backbone.h"
#include "loading/open_checkpoint.h"
#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

void reject_assistant_backbone(const std::string& preset) {
  throw Error("preset '" + preset +
              "' is an MTP assistant (draft) model: all its layers read keys and values from the target model's "
              "cache, so it cannot run as a standalone backbone (its architecture and parameter count are "
              "available through architecture_from_preset)");
}

const PresetInfo* builtin_assistant(const std::string& preset) {
  const PresetInfo* info = fs::exists(preset) ? nullptr : find_builtin_preset(preset);
  return info != nullptr && info->assistant ? info : nullptr;
}

Checkpoint architecture_checkpoint(const PresetArchitecture& arch) {
  Checkpoint checkpoint;
  checkpoint.path = arch.path.empty() ? arch.preset : arch.path;
  checkpoint.config = arch.config;
  checkpoint.vision = arch.vision;
  checkpoint.audio = arch.audio;
  return checkpoint;
}

}  // namespace

int64_t PresetArchitecture::text_parameter_count() const { return count_text_parameters(config); }

int64_t PresetArchitecture::parameter_count() const {
  int64_t total = text_parameter_count();
  if (vision) total += count_vision_parameters(*vision);
  if (audio) total += count_audio_parameters(*audio);
  if (assistant) total += count_assistant_head_parameters(*assistant, config.hidden_dim);
  return total;
}

std::unique_ptr<Backbone> PresetArchitecture::build_random_backbone(uint64_t seed, const std::string& dtype) const {
  if (assistant) reject_assistant_backbone(preset);
  LoadOptions options;
  options.load_weights = false;
  options.seed = seed;
  options.dtype = dtype;
  return build_backbone(architecture_checkpoint(*this), options);
}

PresetArchitecture architecture_from_preset(const std::string& preset, const PresetOptions& options) {
  PresetArchitecture arch;
  arch.preset = preset;
  const PresetInfo* info = fs::exists(preset) ? nullptr : find_builtin_preset(preset);
  if (info != nullptr) {
    arch.vision = info->vision;
    arch.audio = info->audio;
    arch.assistant = info->assistant;
  }
  if (info != nullptr && !options.load_weights) {
    arch.config = info->config;  // the built-in table: nothing on disk is needed
  } else {
    arch.path = hub::locate_model(preset, options.allow_download, options.progress);
    if (fs::is_directory(arch.path)) {  // the config alone: no weights are read
      Checkpoint on_disk;
      on_disk.config = config_from_folder(arch.path);
      read_encoder_configs(arch.path, on_disk);
      arch.config = on_disk.config;
      if (on_disk.vision) arch.vision = on_disk.vision;
      if (on_disk.audio) arch.audio = on_disk.audio;
    } else {
      arch.config = read_checkpoint(arch.path).config;  // a GGUF file is mapped, not read
    }
  }
  if (arch.assistant) {
    for (const auto& [key, value] : options.overrides) {
      if (key != "vision_encoder" && key != "audio_encoder") {
        throw Error("config overrides are not supported for the assistant preset '" + arch.preset + "'");
      }
    }
  }
  // An assistant's config describes layers that cannot run alone, so it is not validated as a backbone.
  Checkpoint checkpoint = architecture_checkpoint(arch);
  apply_architecture_options(checkpoint, options, /*validate=*/!arch.assistant);
  arch.config = checkpoint.config;
  arch.vision = checkpoint.vision;
  arch.audio = checkpoint.audio;
  return arch;
}

std::unique_ptr<Backbone> backbone_from_preset(const std::string& preset, const PresetOptions& options) {
  if (builtin_assistant(preset)) reject_assistant_backbone(preset);
  if (!options.load_weights) {
    LoadOptions architecture_only;
    architecture_only.load_weights = false;
    return build_backbone(architecture_checkpoint(architecture_from_preset(preset, architecture_only)), options);
  }
  return build_backbone(open_checkpoint(preset, options), options);
}

}  // namespace gemma4
