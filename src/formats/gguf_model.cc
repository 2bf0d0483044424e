// GGUF files as llama.cpp's converter writes them for Gemma 4.
#include <gemma4/error.h>

#include <cstring>
#include <fstream>

#include "formats/model_folder.h"

namespace gemma4 {

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "GGUF", 4) == 0;
}

LoadedModel load_gguf_model(const std::string& path) {
  throw Error("GGUF files are not supported yet: " + path);
}

}  // namespace gemma4
