// resolve_preset_path: a --model / from_preset argument to a folder or file on disk.
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>

#include "presets/preset_cache.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKaggle = "kaggle://";
constexpr const char* kHf = "hf://";
constexpr const char* kModelScope = "modelscope://";

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::string places(const std::vector<std::string>& looked_at) {
  std::string text;
  for (const auto& place : looked_at) text += "\n  - " + place;
  return text;
}

std::string kaggle_download_hint(const std::string& handle) {
  return "python3 -c \"import kagglehub; print(kagglehub.model_download('" + handle.substr(9) + "'))\"";
}

std::string hf_download_hint(const std::string& repo) { return "huggingface-cli download " + repo; }

std::string preset_names() {
  std::string names;
  for (const auto& preset : builtin_presets()) names += (names.empty() ? "" : ", ") + preset.name;
  return names;
}

}  // namespace

std::string resolve_preset_path(const std::string& preset) {
  if (preset.empty()) throw Error("empty preset / model argument");
  if (fs::exists(preset)) return preset;

  if (starts_with(preset, kKaggle)) {
    const auto lookup = presets::find_in_kaggle_cache(preset.substr(9), /*any_version=*/false);
    if (lookup.found) return *lookup.found;
    throw Error("preset '" + preset + "' is not on disk. Looked at:" + places(lookup.looked_at) +
                "\nTo get it, download it with KaggleHub (it fills the same cache): " + kaggle_download_hint(preset) +
                "\n(set KAGGLEHUB_CACHE if your cache lives elsewhere), or pass the preset folder itself.");
  }
  if (starts_with(preset, kHf)) {
    const std::string repo = preset.substr(5);
    const auto lookup = presets::find_in_hf_cache(repo);
    if (lookup.found) return *lookup.found;
    throw Error("preset '" + preset + "' is not on disk. Looked at:" + places(lookup.looked_at) +
                "\nTo get it: " + hf_download_hint(repo) +
                "\n(set HF_HUB_CACHE or HF_HOME if your cache lives elsewhere), or pass the downloaded folder itself.");
  }
  if (starts_with(preset, kModelScope)) {
    const std::string repo = preset.substr(13);
    const auto lookup = presets::find_in_modelscope_cache(repo);
    if (lookup.found) return *lookup.found;
    throw Error("preset '" + preset + "' is not on disk. Looked at:" + places(lookup.looked_at) +
                "\nTo get it: gemma4 pull " + preset + " (or: modelscope download --model " + repo +
                ")\n(set MODELSCOPE_CACHE if your cache lives elsewhere), or pass the downloaded folder itself.");
  }
  if (const PresetInfo* info = find_builtin_preset(preset)) {
    auto kaggle = presets::find_in_kaggle_cache(info->kaggle_handle.substr(9), /*any_version=*/true);
    if (kaggle.found) return *kaggle.found;
    auto hf = presets::find_in_hf_cache(info->hf_repo);
    if (hf.found) return *hf.found;
    std::vector<std::string> looked_at = kaggle.looked_at;
    looked_at.insert(looked_at.end(), hf.looked_at.begin(), hf.looked_at.end());
    throw Error("preset '" + preset + "' is not on disk. Looked at:" + places(looked_at) +
                "\nTo get it, download either\n  the KerasHub preset: " + kaggle_download_hint(info->kaggle_handle) +
                "\n  or the Hugging Face checkpoint: " + hf_download_hint(info->hf_repo) +
                "\n(set KAGGLEHUB_CACHE / HF_HUB_CACHE / HF_HOME if your caches live elsewhere), or pass the folder "
                "itself. Without the files, load_weights=false builds the architecture with random weights.");
  }
  throw Error("model path '" + preset + "' does not exist, and it is neither a built-in preset (" + preset_names() +
              ") nor a kaggle://<owner>/<model>/<framework>/<variation>[/<version>], hf://<owner>/<repo> or "
              "modelscope://<owner>/<repo> handle");
}

}  // namespace gemma4
