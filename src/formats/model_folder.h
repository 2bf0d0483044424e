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
  std::string format;  // "huggingface", "kerashub", "gguf"
};

// A Hugging Face folder (config.json + safetensors). Other formats are added beside it.
LoadedModel load_model_folder(const std::string& path);

// Writes a Hugging Face folder: config.json and model.safetensors with "model."-prefixed text names
// (Gemma4ForCausalLM layout), plus the sentence-transformers pooling head for embedding models.
void write_hf_folder(const std::string& folder, const Gemma4Config& config, const WeightSource& weights);

}  // namespace gemma4
