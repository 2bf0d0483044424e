// LoRA adapters for inference: read a Hugging Face PEFT adapter folder or a KerasHub `.lora.h5` file
// (Backbone.save_lora_weights) and merge it into the text model's matrices, W' = W + scale * delta.
// Training them (KerasHub's enable_lora): gemma4/lora_training.h and docs/lora.md.
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

// One adapted matrix, in the Hugging Face orientation W [out, in] of its canonical tensor.
// delta[o, i] = scale * sum_r up[o, r] * down[g(o), r, i], with g(o) = o / (out / groups).
//   PEFT:     groups = 1, up = lora_B [out, r], down = lora_A [r, in].
//   KerasHub: EinsumDense kernels [heads, in, head_dim] get lora_kernel_a [heads, in, r] and
//             lora_kernel_b [r, head_dim]; in our layout (row o = n * head_dim + h) that is
//             groups = heads, down[n] = a[n]^T and up[n * head_dim + h, r] = b[r, h].
struct LoraTarget {
  std::string tensor;  // canonical name, e.g. "layers.3.self_attn.q_proj.weight"
  std::string origin;  // file and tensor/dataset names it came from, for error messages
  int64_t rank = 0;
  int64_t out = 0, in = 0, groups = 1;
  float scale = 1.0f;
  std::vector<float> up;    // [out, rank]
  std::vector<float> down;  // [groups, rank, in]
};

struct LoraAdapter {
  std::string description;  // the file or folder it was read from
  std::vector<LoraTarget> targets;
};

struct LoraReadOptions {
  // KerasHub files do not record lora_alpha; KerasHub's enable_lora leaves it equal to the rank
  // (scale 1). Set this to the lora_alpha used in training if it was different. 0 = the rank.
  float keras_lora_alpha = 0.0f;
  // Adapters of multimodal models may also adapt vision/audio encoder matrices, which this engine
  // does not merge. false: such targets are an error; true: they are left out (text output is exact,
  // image/audio inputs then see the base encoders).
  bool skip_encoder_targets = false;
};

// A PEFT folder (adapter_config.json + adapter_model.safetensors), that safetensors file itself, or a
// KerasHub `.lora.h5` file. Shapes are checked against `config`; throws gemma4::Error naming the file,
// tensor, expected and found shapes, unknown target modules and rank mismatches.
LoraAdapter read_lora_adapter(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options = {});
LoraAdapter read_peft_adapter(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options = {});
LoraAdapter read_keras_lora(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options = {});


}  // namespace gemma4
