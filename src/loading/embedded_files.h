// Files carried inside the library, put there at build time by cmake/embed_files.cmake (no file is opened to read
// them: the bytes are part of the program's read-only data, each file 64-byte aligned).
#pragma once

#include <span>
#include <string_view>

namespace gemma4 {

struct EmbeddedFile {
  std::string_view name;   // file name inside its folder, e.g. "config.json"
  std::string_view bytes;  // the whole file
};

// models/small/: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json.
std::span<const EmbeddedFile> builtin_small_files();

}  // namespace gemma4
