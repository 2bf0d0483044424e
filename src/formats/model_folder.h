// Reading and writing whole checkpoints: a config plus a WeightSource with canonical tensor names.
#pragma once

#include <gemma4/config.h>

#include <memory>
#include <string>

#include "formats/weight_source.h"

namespace gemma4 {

struct LoadedModel {
  Gemma4Config config;
  std::shared_ptr<WeightSource> weights;
  std::string format;      // "huggingface", "kerashub", "gguf", "builtin"
  std::string tokenizer;   // path of the tokenizer file that came with it, if any ("" = none)
  std::string tokenizer_json;  // or the text of an equivalent tokenizer.json (e.g. built from GGUF metadata)
};

// Any checkpoint on disk: a Hugging Face folder, a KerasHub preset folder or a GGUF file;
// or the built-in tiny model ("builtin:tiny", random weights made in memory).
LoadedModel load_model(const std::string& path);

// One reader per format (each in its own file).
LoadedModel load_hf_folder(const std::string& folder);        // model_folder.cc
bool is_keras_preset_folder(const std::string& folder);       // keras_preset.cc
LoadedModel load_keras_preset(const std::string& folder);     // keras_preset.cc
bool is_gguf_file(const std::string& path);                   // gguf_model.cc
LoadedModel load_gguf_model(const std::string& path);         // gguf_model.cc

// Writes a Hugging Face folder: config.json and model.safetensors with "model."-prefixed text names
// (Gemma4ForCausalLM layout), plus the sentence-transformers pooling head for embedding models.
void write_hf_folder(const std::string& folder, const Gemma4Config& config, const WeightSource& weights);

}  // namespace gemma4
