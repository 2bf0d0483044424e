// Which files of a model repository a download takes: what loading needs (configs, tokenizer, chat template,
// safetensors shards and their index, processor configs), one GGUF of a repository of many, or the user's
// --include patterns.
#pragma once

#include <string>
#include <vector>

namespace gemma4::hub {

struct FileSelection {
  std::vector<std::string> files;  // repository paths, in the repository's order
  std::string model_file;          // the chosen GGUF (its first shard) when the model is a GGUF file; else ""
};

// `repo` names the repository in error messages. Throws gemma4::Error when nothing fits, or when a GGUF
// repository holds several models and neither `quant` nor `include` picks one (the message lists them).
FileSelection select_files(const std::vector<std::string>& files, const std::vector<std::string>& include,
                           const std::string& quant, const std::string& repo);

// fnmatch(3) without FNM_PATHNAME ('*' also matches '/'), as huggingface_hub's allow_patterns.
bool glob_match(const std::string& pattern, const std::string& path);

}  // namespace gemma4::hub
