#include "loading/open_checkpoint.h"

#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>

#include "formats/gguf_mmproj.h"
#include "formats/model_folder.h"
#include "hub/locate_model.h"
#include "loading/builtin_model.h"

namespace gemma4 {

Checkpoint open_checkpoint(const std::string& name, const LoadOptions& options) {
  if (is_builtin_model(name)) return open_builtin_model(name);
  // Not on disk: a preset name or a handle, found in the local caches or downloaded into them (locate_model
  // returns an existing path, or throws saying where it looked, what failed and how to get it).
  if (!std::filesystem::exists(name)) {
    return read_checkpoint(hub::locate_model(name, options.allow_download, options.progress));
  }
  return read_checkpoint(name);
}

void attach_mmproj(Checkpoint& checkpoint, const LoadOptions& options) {
  if (!options.load_weights || options.mmproj == "none") return;
  std::string path = options.mmproj;
  if (path.empty()) {
    // Discovery only beside a GGUF file without encoders of its own, and only when the choice is unambiguous.
    if (checkpoint.format != "gguf" || checkpoint.vision || checkpoint.audio) return;
    const std::vector<std::string> found = mmproj_files_beside(checkpoint.path);
    if (found.empty()) return;
    if (found.size() > 1) {
      std::string names;
      for (const auto& f : found) names += (names.empty() ? "" : ", ") + f;
      throw Error("model '" + checkpoint.path + "': " + std::to_string(found.size()) + " projector files beside it (" +
                  names + "); choose one with --mmproj FILE (LoadOptions::mmproj), or --mmproj none for text only");
    }
    path = found[0];
  }
  if (!std::filesystem::is_regular_file(path)) throw Error("mmproj file '" + path + "' does not exist");
  add_mmproj_encoders(path, checkpoint);
}

}  // namespace gemma4
