// Hugging Face safetensors: single files, sharded folders (model.safetensors.index.json), and writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "schema/weight_source.h"

namespace gemma4 {

// Hugging Face tensor name -> canonical name (see weight_source.h): strips "model.language_model."
// or "model." from the front.
std::string canonical_hf_name(const std::string& hf_name);

// Adds every tensor of one .safetensors file to `source` (memory-mapped; F32/BF16/F16 used as stored).
// `name_prefix` is put in front of each canonical name (used for the pooling head's sub-folders).
void read_safetensors_file(const std::string& path, WeightSource& source, const std::string& name_prefix = "",
                           bool canonicalize = true);

// The same for a whole safetensors file already in memory (e.g. embedded in the library); the tensors view `bytes`,
// which must outlive `source`. `path` names it in messages.
void read_safetensors_bytes(const uint8_t* bytes, size_t size, const std::string& path, WeightSource& source,
                            const std::string& name_prefix = "", bool canonicalize = true);

// Reads the model weights of a Hugging Face folder: model.safetensors.index.json (sharded) or
// model.safetensors, plus the sentence-transformers pooling head (2_Dense/, 3_Dense/) if present.
WeightSource read_safetensors_folder(const std::string& folder);

struct NamedTensor {
  std::string name;  // written as given (callers pass Hugging Face names)
  TensorView view;   // F32, F16 or BF16
};

// Writes one .safetensors file (header, then the tensors in the given order, 8-byte aligned header).
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace gemma4
