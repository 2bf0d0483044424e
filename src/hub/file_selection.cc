#include "hub/file_selection.h"

#include <gemma4/error.h>

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

namespace gemma4::hub {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_gguf(const std::string& path) { return ends_with(lower(path), ".gguf"); }
bool is_mmproj(const std::string& path) { return lower(base_name(path)).rfind("mmproj", 0) == 0; }

// Top-level files a Hugging Face model folder is read from (formats/model_folder, the tokenizer and template
// loaders, the image and audio processors).
bool needed_by_hf_folder(const std::string& path) {
  if (path.find('/') != std::string::npos) return false;
  static const char* patterns[] = {"config.json",          "generation_config.json", "tokenizer.json",
                                   "tokenizer.model",      "tokenizer_config.json",  "special_tokens_map.json",
                                   "added_tokens.json",    "chat_template.jinja",    "chat_template.json",
                                   "*preprocessor_config.json", "processor_config.json", "*.safetensors",
                                   "*.safetensors.index.json"};
  for (const char* pattern : patterns) {
    if (glob_match(pattern, path)) return true;
  }
  return false;
}

// Documentation and pictures that no loader reads.
bool is_documentation(const std::string& path) {
  const std::string name = lower(base_name(path));
  for (const char* suffix : {".md", ".png", ".jpg", ".jpeg", ".gif", ".pdf"}) {
    if (ends_with(name, suffix)) return true;
  }
  return name == ".gitattributes" || name == "license" || name == "notice";
}

// "model-Q4_K_M-00001-of-00003.gguf" -> "model-Q4_K_M.gguf": the shards of one split model share a key.
std::string gguf_model_key(const std::string& path) {
  static const std::regex shard("-[0-9]{5}-of-[0-9]{5}(\\.gguf)$", std::regex::icase);
  return std::regex_replace(path, shard, "$1");
}

std::string listing(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += "\n  - " + name;
  return text;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& path) {
  return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

FileSelection select_files(const std::vector<std::string>& files, const std::vector<std::string>& include,
                           const std::string& quant, const std::string& repo) {
  FileSelection selection;
  if (!include.empty()) {
    for (const auto& file : files) {
      if (std::any_of(include.begin(), include.end(), [&](const std::string& p) { return glob_match(p, file); })) {
        selection.files.push_back(file);
      }
    }
    if (selection.files.empty()) {
      std::string patterns;
      for (const auto& p : include) patterns += (patterns.empty() ? "" : ", ") + p;
      throw Error(repo + ": no file matches --include " + patterns + ". The repository holds:" + listing(files));
    }
    std::vector<std::string> ggufs;
    for (const auto& file : selection.files) {
      if (is_gguf(file) && !is_mmproj(file)) ggufs.push_back(file);
    }
    std::set<std::string> models;
    for (const auto& g : ggufs) models.insert(gguf_model_key(g));
    const bool has_config = std::find(selection.files.begin(), selection.files.end(), "config.json") != selection.files.end();
    if (models.size() == 1 && !has_config) selection.model_file = ggufs.front();
    return selection;
  }

  const bool has_safetensors = std::any_of(files.begin(), files.end(), [](const std::string& f) {
    return f.find('/') == std::string::npos && ends_with(lower(f), ".safetensors");
  });
  std::vector<std::string> ggufs, mmprojs;
  for (const auto& file : files) {
    if (!is_gguf(file)) continue;
    (is_mmproj(file) ? mmprojs : ggufs).push_back(file);
  }
  if (!has_safetensors && !ggufs.empty()) {
    // A repository of GGUF files: one model (all its shards), and its projector when there is just one.
    std::vector<std::string> chosen = ggufs;
    if (!quant.empty()) {
      chosen.clear();
      for (const auto& g : ggufs) {
        if (lower(base_name(g)).find(lower(quant)) != std::string::npos) chosen.push_back(g);
      }
    }
    std::set<std::string> models;
    for (const auto& g : chosen) models.insert(gguf_model_key(g));
    if (models.size() != 1) {
      throw Error(repo + ": " +
                  (chosen.empty() ? "no GGUF file matches the quantization '" + quant + "'"
                                  : std::to_string(models.size()) + " GGUF models" +
                                        (quant.empty() ? "" : " match '" + quant + "'")) +
                  "; choose one with --quant TYPE (e.g. Q4_K_M; in a handle: hf://owner/repo:Q4_K_M) or --include "
                  "FILE. Its GGUF files:" + listing(ggufs));
    }
    selection.files = chosen;
    std::sort(chosen.begin(), chosen.end());
    selection.model_file = chosen.front();
    if (mmprojs.size() == 1) selection.files.push_back(mmprojs.front());
    return selection;
  }
  if (has_safetensors) {
    for (const auto& file : files) {
      if (needed_by_hf_folder(file)) selection.files.push_back(file);
    }
    return selection;
  }
  // Neither safetensors nor GGUF (a KerasHub preset: config.json, model.weights.h5, assets/...): everything
  // but the documentation.
  for (const auto& file : files) {
    if (!is_documentation(file)) selection.files.push_back(file);
  }
  if (selection.files.empty()) throw Error(repo + ": the repository holds no model files:" + listing(files));
  return selection;
}

}  // namespace gemma4::hub
