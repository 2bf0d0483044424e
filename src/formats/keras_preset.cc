// KerasHub preset folders as `save_to_preset` writes them: config.json (Gemma4Backbone and its
// arguments, dtype policy included), metadata.json, model.weights.h5 or the sharded
// model.weights.json + model_NNNNN.weights.h5, and the tokenizer under assets/tokenizer/.
#include <gemma4/error.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "formats/json_file.h"
#include "formats/keras_h5.h"
#include "formats/keras_names.h"
#include "formats/model_folder.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// KerasHub saves the SentencePiece model as an asset; a Hugging Face tokenizer.json is accepted too
// (KerasHub's own top-level tokenizer.json is the tokenizer's Keras config, not a vocabulary).
std::string find_tokenizer(const fs::path& folder) {
  for (const fs::path& candidate : {folder / "assets" / "tokenizer" / "vocabulary.spm",
                                    folder / "assets" / "tokenizer" / "tokenizer.json", folder / "tokenizer.json"}) {
    if (!fs::exists(candidate)) continue;
    if (candidate.extension() != ".json") return candidate.string();
    const json root = read_json_file(candidate.string());
    if (root.is_object() && root.contains("model") && root["model"].is_object()) return candidate.string();
  }
  return "";
}

}  // namespace

bool is_keras_preset_folder(const std::string& folder) {
  return fs::exists(fs::path(folder) / "model.weights.h5") || fs::exists(fs::path(folder) / "model.weights.json");
}

Checkpoint read_keras_preset(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::exists(dir / "config.json")) throw Error("KerasHub preset '" + folder + "' has no config.json");
  Checkpoint loaded;
  loaded.path = folder;
  loaded.config = config_from_keras_json(read_file((dir / "config.json").string()), (dir / "config.json").string());
  loaded.format = "kerashub";

  std::string versions;
  if (fs::exists(dir / "metadata.json")) {
    const json metadata = read_json_file((dir / "metadata.json").string());
    if (!metadata.is_object()) throw Error((dir / "metadata.json").string() + ": expected a JSON object");
    if (metadata.contains("keras_hub_version") && metadata["keras_hub_version"].is_string()) {
      versions = " (keras_hub " + metadata["keras_hub_version"].get<std::string>() + ")";
    }
  }

  // The sharded index wins: a single file beside it would be a leftover.
  const fs::path weights_path =
      fs::exists(dir / "model.weights.json") ? dir / "model.weights.json" : dir / "model.weights.h5";
  auto store = KerasH5Store::open(weights_path.string());
  auto source = std::make_shared<WeightSource>();
  source->description = "KerasHub preset " + folder + versions;
  const std::vector<std::string> unclaimed = map_keras_weights(*store, loaded.config, *source);
  // Unknown variables outside the vision/audio encoders would change the text model's results
  // (LoRA factors, another architecture): refuse rather than ignore them.
  std::vector<std::string> unknown;
  for (const auto& path : unclaimed) {
    if (!starts_with(path, kKerasVisionPrefix) && !starts_with(path, kKerasAudioPrefix)) unknown.push_back(path);
  }
  if (!unknown.empty()) {
    std::string list;
    for (size_t i = 0; i < unknown.size() && i < 5; ++i) list += (i ? ", '" : "'") + unknown[i] + "'";
    if (unknown.size() > 5) list += ", ... (" + std::to_string(unknown.size()) + " in all)";
    throw Error(store->description() + ": variables this config does not use: " + list);
  }
  loaded.weights = std::move(source);
  read_encoder_configs(folder, loaded);
  loaded.tokenizer.file = find_tokenizer(dir);
  return loaded;
}

}  // namespace gemma4
