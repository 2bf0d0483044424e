// Gemma 4 checkpoints as GGUF files for llama.cpp's "gemma4" architecture (see docs in
// llama.cpp's src/llama-model.cpp (LLM_ARCH_GEMMA4) and conversion/gemma.py; summary in docs/formats.md): reading is read_gguf_checkpoint (model_folder.h); writing is here.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "formats/model_folder.h"

namespace gemma4 {

namespace gguf {
class GgufFile;
}

// The storage type llama.cpp's converter gives a tensor when asked for `requested`: 1-D tensors, norms, the
// router and the `.scale` tensors stay F32; Q8_0/Q4_0 fall back to F16 for rows that are not a multiple of 32.
DType gguf_storage_type(const std::string& gguf_name, const Shape& shape, DType requested);

// Writes `model` as a GGUF v3 file llama.cpp loads: gemma4.* metadata, the text tensors under their GGUF names
// (converted to `type` by the rule above), rope_freqs, and a tokenizer: the model's tokenizer.json if it has
// one (file or text), else a synthesized vocabulary of vocabulary_size entries. `type`: F32, F16, BF16, Q8_0
// or Q4_0. Tensors already stored in their target type are copied unchanged.
void write_gguf_model(const std::string& path, const Checkpoint& model, DType type);

// The tokenizer the GGUF's tokenizer.ggml.* keys describe (null if the file has no BPE ("gemma4") tokenizer).
std::shared_ptr<const text::BpeSpec> bpe_spec_from_gguf(const gguf::GgufFile& file);

}  // namespace gemma4
