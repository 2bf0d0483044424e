// What every format reader produces: one complete checkpoint. The text config, the encoders' configs when the
// checkpoint has encoders, the weights under canonical names, and where its tokenizer comes from. The one
// builder (loading/build_backbone.h) turns a checkpoint into a Backbone; nothing else reads files.
#pragma once

#include <gemma4/audio.h>
#include <gemma4/config.h>
#include <gemma4/vision.h>

#include <memory>
#include <optional>
#include <string>

#include "schema/tokenizer_spec.h"
#include "schema/weight_source.h"

namespace gemma4 {

// A tokenizer file on disk (tokenizer.json, tokenizer.model, a KerasHub vocabulary.spm), or one described
// directly by the checkpoint's metadata (GGUF's tokenizer.ggml.* keys, the built-in model). Both empty: the
// checkpoint has no tokenizer and only token ids work.
struct TokenizerSource {
  std::string file;
  std::shared_ptr<const text::BpeSpec> bpe;
  bool empty() const { return file.empty() && bpe == nullptr; }
  // The model's own chat template (Jinja text) and where it was found; empty when the checkpoint ships none
  // (then the built-in one for the architecture is used).
  std::string chat_template;
  std::string chat_template_origin;
  // Whether text is encoded behind <bos> (GGUF tokenizer.ggml.add_bos_token, tokenizer_config.json
  // add_bos_token); unset: yes, as Gemma's tokenizers do.
  std::optional<bool> add_bos;
};

struct Checkpoint {
  std::string path;    // what was opened (a folder, a file, "builtin:tiny")
  std::string format;  // "huggingface", "kerashub", "gguf", "builtin", "random"
  Gemma4Config config;
  std::optional<VisionConfig> vision;
  std::optional<AudioConfig> audio;
  std::shared_ptr<WeightSource> weights;  // null: architecture only (no weights read)
  TokenizerSource tokenizer;
};

}  // namespace gemma4
