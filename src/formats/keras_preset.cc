// KerasHub preset folders: config.json (Gemma4Backbone), metadata.json, model.weights.h5.
#include <gemma4/error.h>

#include <filesystem>

#include "formats/model_folder.h"

namespace gemma4 {

bool is_keras_preset_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  return fs::exists(fs::path(folder) / "model.weights.h5") || fs::exists(fs::path(folder) / "model.weights.json");
}

LoadedModel load_keras_preset(const std::string& folder) {
  throw Error("KerasHub preset folders are not supported yet: " + folder);
}

}  // namespace gemma4
