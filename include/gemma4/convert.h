// Converting a checkpoint between formats: any model Backbone::load accepts -> a GGUF file llama.cpp loads,
// or -> a Hugging Face folder (config.json, model.safetensors, the tokenizer), so formats round-trip.
#pragma once

#include <gemma4/load_options.h>

#include <string>

namespace gemma4 {

struct ConvertOptions {
  std::string format = "gguf";  // "gguf" (a file) or "hf" (a folder)
  // Storage type of the matrices. gguf: f32 (default), bf16, f16, q8_0, q4_0 (rows llama.cpp cannot block
  // fall back as its converter does); hf: "" keeps float types as stored (quantized ones become f32), or
  // f32, bf16, f16 for every tensor.
  std::string type;
  // Applied to the source before writing (overrides, dtype, random weights); LoRA and quantize-on-load are
  // not (merge adapters with the engine at load time instead).
  LoadOptions source;
};

struct ConvertReport {
  std::string source_format;  // "huggingface", "kerashub", "gguf", "builtin", "random"
  std::string output;
};

ConvertReport convert_model(const std::string& model, const std::string& output, const ConvertOptions& options = {});

}  // namespace gemma4
