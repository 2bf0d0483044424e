// Tokenizer::load (a tokenizer file, a model folder or a GGUF file) and a checkpoint's tokenizer source.
#include "loading/load_tokenizer.h"

#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "formats/gguf.h"
#include "loading/builtin_model.h"
#include "loading/open_checkpoint.h"
#include "formats/gguf_model.h"
#include "text/tokenizer_internal.h"

namespace gemma4 {
namespace {

std::string first_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[64];
  in.read(buf, sizeof buf);
  return std::string(buf, static_cast<size_t>(in.gcount()));
}

bool looks_like_json(const std::string& head) {
  const char* buf = head.data();
  const std::streamsize n = static_cast<std::streamsize>(head.size());
  std::streamsize i = 0;
  if (n >= 3 && static_cast<unsigned char>(buf[0]) == 0xEF && static_cast<unsigned char>(buf[1]) == 0xBB &&
      static_cast<unsigned char>(buf[2]) == 0xBF)
    i = 3;
  while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) ++i;
  return i < n && buf[i] == '{';
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  // Not a path: a model name (builtin:tiny, a preset, a cache handle) whose checkpoint names its tokenizer.
  if ((ec || !fs::exists(status)) && (is_builtin_model(path) || path.find("://") != std::string::npos ||
                                      find_builtin_preset(path) != nullptr)) {
    std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(open_checkpoint(path).tokenizer);
    if (!tokenizer) throw Error("tokenizer: model '" + path + "' has no tokenizer");
    return tokenizer;
  }
  if (ec || !fs::exists(status)) throw Error("tokenizer: '" + path + "' does not exist");
  if (fs::is_directory(status)) {
    // A KerasHub preset keeps its vocabulary under assets/tokenizer/ (its top-level tokenizer.json is the Keras
    // layer config, not a vocabulary); a Hugging Face folder has tokenizer.json and/or tokenizer.model.
    const fs::path dir(path);
    for (const char* candidate : {"assets/tokenizer/vocabulary.spm", "assets/tokenizer/tokenizer.json",
                                  "tokenizer.json", "tokenizer.model"}) {
      const fs::path file = dir / candidate;
      if (fs::is_regular_file(file, ec)) return load(file.string());
    }
    throw Error("tokenizer: folder '" + path +
                "' holds no tokenizer (looked for assets/tokenizer/vocabulary.spm, "
                "assets/tokenizer/tokenizer.json, tokenizer.json, tokenizer.model)");
  }
  if (!fs::is_regular_file(status)) throw Error("tokenizer: '" + path + "' is not a regular file");
  const std::string head = first_bytes(path);
  if (head.compare(0, 4, "GGUF") == 0) {  // a GGUF model: its tokenizer.ggml.* keys
    auto spec = bpe_spec_from_gguf(*gguf::GgufFile::open(path));
    if (spec == nullptr)
      throw Error("tokenizer: GGUF file '" + path + "' has no Gemma 4 (\"gemma4\" BPE) tokenizer");
    return text::make_bpe_tokenizer(*spec);
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".json" || looks_like_json(head)) return text::load_hf_tokenizer_json(path);
  return text::load_sentencepiece_model(path);
}

std::unique_ptr<Tokenizer> load_tokenizer(const TokenizerSource& source) {
  if (source.bpe) return text::make_bpe_tokenizer(*source.bpe);
  if (!source.file.empty()) return Tokenizer::load(source.file);
  return nullptr;
}

}  // namespace gemma4
