// Finding downloaded presets in the KaggleHub, Hugging Face hub and ModelScope caches (their folder layouts and
// environment variables), without any network access.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gemma4::presets {

// The Hugging Face hub cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE (legacy), else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hf_hub_cache_dir();
// KaggleHub cache folders to search: KAGGLEHUB_CACHE if set; else ~/.cache/kagglehub (kagglehub's
// default), plus $XDG_CACHE_HOME/kagglehub when XDG_CACHE_HOME is set.
std::vector<std::string> kagglehub_cache_dirs();

// The ModelScope cache folder: MODELSCOPE_CACHE, else ~/.cache/modelscope/hub (modelscope/utils/file_utils.py).
std::string modelscope_cache_dir();
// Where the modelscope library keeps a model: <cache>/models/owner/<name with '.' written as '___'>.
std::string modelscope_model_dir(const std::string& owner, const std::string& name);

// One search: what was found (a folder or file) or, if nothing, the places looked at.
struct CacheLookup {
  std::optional<std::string> found;
  std::vector<std::string> looked_at;  // human-readable, one place per entry
};

// "owner/repo" in the HF hub cache: models--owner--repo/snapshots/<refs/main or the newest>/.
// A snapshot without config.json but with exactly one .gguf file resolves to that file.
CacheLookup find_in_hf_cache(const std::string& repo_id);
// "owner/model/framework/variation[/version]" in the KaggleHub cache:
// <cache>/models/owner/model/framework/variation/<version>/. Without a version (or when the given one
// is missing and `any_version` is set) the highest version present is used.
CacheLookup find_in_kaggle_cache(const std::string& handle, bool any_version);

// "owner/repo" in the ModelScope cache: <cache>/models/owner/repo, or <cache>/owner/repo (the layout of
// modelscope releases before 1.19).
CacheLookup find_in_modelscope_cache(const std::string& repo_id);

}  // namespace gemma4::presets
