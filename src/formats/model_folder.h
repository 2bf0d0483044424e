// Reading and writing whole checkpoints on disk. Each reader knows one format and yields one complete
// Checkpoint (schema/checkpoint.h); read_checkpoint picks the reader. Names that are not paths (builtin:,
// presets, kaggle:// and hf:// handles) are resolved a layer above, in loading/open_checkpoint.h.
#pragma once

#include <gemma4/config.h>

#include <string>

#include "schema/checkpoint.h"

namespace gemma4 {

// A Hugging Face folder, a KerasHub preset folder or a GGUF file that exists on disk.
Checkpoint read_checkpoint(const std::string& path);

// One reader per format (each in its own file).
Checkpoint read_hf_folder(const std::string& folder);         // model_folder.cc
bool is_keras_preset_folder(const std::string& folder);        // keras_preset.cc
Checkpoint read_keras_preset(const std::string& folder);       // keras_preset.cc
bool is_gguf_file(const std::string& path);                    // gguf_model.cc
Checkpoint read_gguf_checkpoint(const std::string& path);      // gguf_model.cc

// The chat template a Hugging Face folder ships (chat_template.jinja, chat_template.json or
// tokenizer_config.json), if any.
void read_chat_template(const std::string& folder, TokenizerSource& tokenizer);
// tokenizer_config.json's add_bos_token, if the folder has one.
void read_tokenizer_config(const std::string& folder, TokenizerSource& tokenizer);

// The vision / audio encoder configs a folder's config.json (Hugging Face or KerasHub) describes, if any.
void read_encoder_configs(const std::string& folder, Checkpoint& checkpoint);

// Writes a Hugging Face folder: config.json and model.safetensors with "model."-prefixed text names
// (Gemma4ForCausalLM layout), plus the sentence-transformers pooling head for embedding models.
void write_hf_folder(const std::string& folder, const Gemma4Config& config, const WeightSource& weights);

}  // namespace gemma4
