// Trainable LoRA adapters, as KerasHub's Backbone.enable_lora defines them (keras_hub/src/models/backbone.py,
// keras/src/layers/core/einsum_dense.py). See docs/lora.md for the facts and their sources.
//
//   auto backbone = gemma4::Backbone::load("builtin:tiny");
//   gemma4::LoraTrainingState& lora = backbone->enable_lora(8);   // query and value layers, alpha = rank
//   ... train (gemma4/finetune.h) ...
//   backbone->save_lora_weights("out/adapter");          // PEFT folder: adapter_config.json + adapter_model.safetensors
//   backbone->save_lora_weights("out/model.lora.h5");    // KerasHub's file
//   backbone->load_lora_weights("out/model.lora.h5");    // either form; enables LoRA with the file's rank if needed
//
// The Python helper binds exactly enable_lora(rank, target_layer_names=None), save_lora_weights(path) and
// load_lora_weights(path). Once LoRA is enabled, Backbone::forward (and generation on that backbone) adds the
// live adapters at each adapted projection, y = x W^T + (alpha / rank) (x a) b (src/model/lora_runtime.h), so
// writing into a / b changes the next outputs; loading an adapter with the model (LoadOptions::lora_adapters,
// `--lora`) instead merges it into the weights once.
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

// One LoRA-enabled layer: KerasHub's lora_kernel_a / lora_kernel_b of an EinsumDense or Dense kernel.
// effective kernel = kernel + (alpha / rank) * (a @ b), a of shape kernel_shape[:-1] + [rank], b [rank,
// kernel_shape[-1]], both float32 and row-major, a he_uniform (bound sqrt(6 / prod(kernel_shape[:-1]))), b zero.
struct LoraLayer {
  std::string layer_name;             // KerasHub layer name: "query", "value", "attention_output", "ffw_gating", ...
  int64_t block = 0;                  // decoder block
  std::string tensor;                 // canonical tensor it adapts, e.g. "layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> kernel_shape;  // the KerasHub kernel, e.g. query [heads, hidden, head_dim]
  // true for query/key/value (kernel [heads, hidden, head_dim], our rows n * head_dim + h): a differs per head
  // and b is shared by the heads. false: the kernel's last axis is our matrix's rows, the others its columns.
  bool heads_first = false;
  std::vector<float> a, b;

  int64_t rank() const { return static_cast<int64_t>(b.size()) / kernel_shape.back(); }
  std::vector<int64_t> a_shape() const;
  std::vector<int64_t> b_shape() const;
};

class LoraTrainingState {
 public:
  // KerasHub's Backbone.default_lora_layer_names(): "query_dense", "value_dense", "query", "value" (in Gemma 4
  // only "query" and "value" name layers that have enable_lora).
  static const std::vector<std::string>& default_target_layer_names();

  // LoRA of `rank` on every text decoder layer named in `target_layer_names` (empty: the defaults). Names are
  // KerasHub's layer names: query, key, value, attention_output, ffw_gating, ffw_gating_2, ffw_linear,
  // per_layer_input_gate, per_layer_up_proj; the Hugging Face module names q_proj, k_proj, v_proj, o_proj,
  // gate_proj, up_proj, down_proj, per_layer_projection are accepted for the same layers. A name that matches
  // nothing in Gemma 4 is an error, except the default list's "query_dense", "value_dense", "query_proj",
  // "value_proj" (KerasHub matches them against nothing too). alpha 0 means alpha = rank (scale 1), as
  // KerasHub's enable_lora leaves it; `seed` seeds the he_uniform draw (values are not Keras' own draws).
  LoraTrainingState(const Gemma4Config& config, int64_t rank, const std::vector<std::string>& target_layer_names = {},
                    float alpha = 0.0f, uint64_t seed = 0);

  const Gemma4Config& config() const { return config_; }
  int64_t rank() const { return rank_; }
  float alpha() const { return alpha_; }
  float scale() const { return alpha_ / static_cast<float>(rank_); }
  // In KerasHub's Layer._flatten_layers order: per decoder block per_layer_up_proj, per_layer_input_gate,
  // ffw_linear, ffw_gating_2, ffw_gating, attention_output, value, key, query (those enabled and present).
  const std::vector<LoraLayer>& layers() const { return layers_; }
  std::vector<LoraLayer>& layers() { return layers_; }
  int64_t trainable_parameter_count() const;

  // (alpha / rank) * (a @ b) of layer i, in the KerasHub kernel's shape (float32).
  std::vector<float> kernel_delta(size_t i) const;

  // path ending in ".lora.h5": KerasHub's file (lora/vars/rank, lora/<index>/vars/lora_kernel_a|b; only the
  // default query/value targets, as our reader maps entries by that order). Anything else: a PEFT folder.
  // Written atomically (each file is either the old or the complete new one).
  void save_lora_weights(const std::string& path) const;
  // Reads either form (gemma4/lora.h) back into these layers: the file's targets must be these layers, its rank
  // this rank. PEFT files written by other tools load when their factors have KerasHub's structure.
  void load_lora_weights(const std::string& path);
  // A state with the file's rank, alpha and targets.
  static LoraTrainingState from_file(const std::string& path, const Gemma4Config& config);

 private:
  Gemma4Config config_;
  int64_t rank_;
  float alpha_;
  std::vector<LoraLayer> layers_;
};

}  // namespace gemma4
