#include "presets/preset_cache.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace gemma4::presets {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

fs::path home_cache() {
  const std::string home = env("HOME");
  return fs::path(home.empty() ? "." : home) / ".cache";
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

bool is_number(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// A snapshot folder as a model: the folder itself, or its single .gguf file when it has no config.json.
std::optional<std::string> model_in_folder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return std::nullopt;
  if (fs::exists(folder / "config.json", ec)) return folder.string();
  std::vector<fs::path> ggufs;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.path().extension() == ".gguf") ggufs.push_back(entry.path());
  }
  if (ggufs.size() == 1) return ggufs[0].string();
  return std::nullopt;
}

}  // namespace

std::string hf_hub_cache_dir() {
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HUGGINGFACE_HUB_CACHE").empty()) return env("HUGGINGFACE_HUB_CACHE");
  if (!env("HF_HOME").empty()) return (fs::path(env("HF_HOME")) / "hub").string();
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub").string();
  return (home_cache() / "huggingface" / "hub").string();
}

std::vector<std::string> kagglehub_cache_dirs() {
  if (!env("KAGGLEHUB_CACHE").empty()) return {env("KAGGLEHUB_CACHE")};
  std::vector<std::string> dirs = {(home_cache() / "kagglehub").string()};
  if (!env("XDG_CACHE_HOME").empty()) {
    const std::string xdg = (fs::path(env("XDG_CACHE_HOME")) / "kagglehub").string();
    if (xdg != dirs[0]) dirs.push_back(xdg);
  }
  return dirs;
}

CacheLookup find_in_hf_cache(const std::string& repo_id) {
  CacheLookup lookup;
  const auto parts = split(repo_id, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    throw Error("Hugging Face handle 'hf://" + repo_id + "' is not of the form hf://<owner>/<repo>");
  }
  const fs::path repo = fs::path(hf_hub_cache_dir()) / ("models--" + parts[0] + "--" + parts[1]);
  const fs::path snapshots = repo / "snapshots";
  std::error_code ec;
  // refs/main names the snapshot the last download of the main branch produced.
  std::ifstream ref(repo / "refs" / "main");
  if (ref) {
    std::string hash;
    std::getline(ref, hash);
    hash = trim(hash);
    lookup.looked_at.push_back("Hugging Face cache: " + (snapshots / hash).string() + " (from refs/main)");
    if (auto model = model_in_folder(snapshots / hash)) {
      lookup.found = model;
      return lookup;
    }
  }
  // No usable ref: the most recently written snapshot that holds a model.
  lookup.looked_at.push_back("Hugging Face cache: " + snapshots.string() + "/<any snapshot>");
  std::vector<fs::directory_entry> entries;
  for (const auto& entry : fs::directory_iterator(snapshots, ec)) entries.push_back(entry);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    std::error_code e1, e2;
    return a.last_write_time(e1) > b.last_write_time(e2);
  });
  for (const auto& entry : entries) {
    if (auto model = model_in_folder(entry.path())) {
      lookup.found = model;
      return lookup;
    }
  }
  return lookup;
}

std::string modelscope_cache_dir() {
  if (!env("MODELSCOPE_CACHE").empty()) return env("MODELSCOPE_CACHE");
  return (home_cache() / "modelscope" / "hub").string();
}

std::string modelscope_model_dir(const std::string& owner, const std::string& name) {
  std::string folder;
  for (char c : name) folder += c == '.' ? std::string("___") : std::string(1, c);
  return (fs::path(modelscope_cache_dir()) / "models" / owner / folder).string();
}

CacheLookup find_in_modelscope_cache(const std::string& repo_id) {
  CacheLookup lookup;
  const auto parts = split(repo_id, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    throw Error("ModelScope handle 'modelscope://" + repo_id + "' is not of the form modelscope://<owner>/<repo>");
  }
  const fs::path current = modelscope_model_dir(parts[0], parts[1]);
  const fs::path legacy = fs::path(modelscope_cache_dir()) / parts[0] / current.filename();
  for (const fs::path& folder : {current, legacy}) {
    lookup.looked_at.push_back("ModelScope cache: " + folder.string());
    if (auto model = model_in_folder(folder)) {
      lookup.found = model;
      return lookup;
    }
  }
  return lookup;
}

CacheLookup find_in_kaggle_cache(const std::string& handle, bool any_version) {
  CacheLookup lookup;
  const auto parts = split(handle, '/');
  if (parts.size() != 4 && parts.size() != 5) {
    throw Error("Kaggle handle 'kaggle://" + handle +
                "' is not of the form kaggle://<owner>/<model>/<framework>/<variation>[/<version>]");
  }
  for (const auto& part : parts) {
    if (part.empty()) throw Error("Kaggle handle 'kaggle://" + handle + "' has an empty component");
  }
  const bool has_version = parts.size() == 5;
  if (has_version && !is_number(parts[4])) {
    throw Error("Kaggle handle 'kaggle://" + handle + "': version '" + parts[4] + "' is not a number");
  }
  for (const auto& cache : kagglehub_cache_dirs()) {
    const fs::path variation = fs::path(cache) / "models" / parts[0] / parts[1] / parts[2] / parts[3];
    if (has_version) {
      const fs::path folder = variation / parts[4];
      lookup.looked_at.push_back("KaggleHub cache: " + folder.string());
      if (auto model = model_in_folder(folder)) {
        lookup.found = model;
        return lookup;
      }
      if (!any_version) continue;
    }
    lookup.looked_at.push_back("KaggleHub cache: " + variation.string() + "/<highest version>");
    std::error_code ec;
    std::vector<int64_t> versions;
    for (const auto& entry : fs::directory_iterator(variation, ec)) {
      const std::string name = entry.path().filename().string();
      if (is_number(name) && name.size() < 10) versions.push_back(std::stoll(name));
    }
    std::sort(versions.rbegin(), versions.rend());
    for (int64_t version : versions) {
      if (auto model = model_in_folder(variation / std::to_string(version))) {
        lookup.found = model;
        return lookup;
      }
    }
  }
  return lookup;
}

}  // namespace gemma4::presets
