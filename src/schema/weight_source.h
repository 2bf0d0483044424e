// What every format reader yields: canonical tensor name -> typed view of its bytes, plus metadata.
//
// Canonical names are Hugging Face names relative to the part of the model they belong to:
//   text:   "embed_tokens.weight", "layers.3.self_attn.q_proj.weight", "norm.weight", ...
//   vision: "vision_tower.<...>", "embed_vision.<...>";  audio: "audio_tower.<...>", "embed_audio.<...>"
// i.e. Hugging Face's "model.language_model." / "model." prefixes are stripped from text tensors and
// "model." from the others. Readers of other formats (GGUF, Keras .h5) translate to these names. One name has no
// Hugging Face counterpart: "audio_tower.layers.{l}.self_attn.per_dim_scale_softplus", the already activated
// per_dim_scale that GGUF files store (formats/gguf_mmproj.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace gemma4 {

struct SourceTensor {
  TensorView view;
  std::string origin;  // the file it came from, for error messages
};

class WeightSource {
 public:
  // Adds a tensor; a second tensor under the same name is an error naming both files.
  void add(const std::string& name, const TensorView& view, const std::string& origin);
  const SourceTensor* find(const std::string& name) const;
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }

  // Keeps the owner of the viewed bytes (a file mapping, a buffer) alive as long as this source.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Bytes this source allocated itself (converted or decoded tensors), for memory accounting.
  std::vector<uint8_t>& new_buffer(size_t bytes);

  std::string description;  // e.g. the folder or file it was read from

 private:
  std::map<std::string, SourceTensor> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace gemma4
