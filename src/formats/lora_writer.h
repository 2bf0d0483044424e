// Writers for the two LoRA adapter formats lora_adapters.cc reads: a Hugging Face PEFT folder and KerasHub's
// `.lora.h5` file. Format only: which factors go where is the caller's (src/train/lora_state.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gemma4 {

struct Float32Array {
  std::vector<int64_t> shape;
  const std::vector<float>* values = nullptr;
};

// One PEFT module: "<module>.lora_A.weight" [r, in] and "<module>.lora_B.weight" [out, r].
struct PeftModuleFactors {
  std::string module;  // full module name, e.g. "base_model.model.model.language_model.layers.0.self_attn.q_proj"
  Float32Array lora_a, lora_b;
};

struct PeftAdapterFile {
  int64_t r = 8;
  double lora_alpha = 8;
  std::map<std::string, int64_t> rank_pattern;   // module (without "base_model.model.") -> its rank
  std::map<std::string, double> alpha_pattern;   // module -> its alpha
  std::vector<std::string> target_modules;       // short names ("q_proj", ...)
  std::vector<PeftModuleFactors> modules;
};

// `folder`/adapter_model.safetensors then `folder`/adapter_config.json, each written atomically; the folder
// is created if needed.
void write_peft_adapter(const std::string& folder, const PeftAdapterFile& adapter);

// One KerasHub entry: lora/<index>/vars/lora_kernel_a and lora_kernel_b (float32).
struct KerasLoraEntry {
  int64_t index = 0;
  Float32Array a, b;
};

// lora/vars/rank (int64 scalar) and the entries, as keras' H5IOStore lays them out; the HDF5 image is built in
// memory and written atomically.
void write_keras_lora_file(const std::string& path, int64_t rank, const std::vector<KerasLoraEntry>& entries);

}  // namespace gemma4
