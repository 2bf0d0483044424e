// The text model's weights, bound from a WeightSource through the tensor-name table.
#pragma once

#include <gemma4/config.h>

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "schema/tensor_names.h"
#include "schema/weight_source.h"

namespace gemma4 {

struct LayerWeights {
  TensorView input_norm, post_attention_norm, pre_ffn_norm, post_ffn_norm;  // [H], F32
  TensorView q_proj, o_proj, q_norm;   // q_norm [head_dim], F32
  TensorView k_proj, v_proj, k_norm;   // empty on KV-shared layers; v_proj empty with K=V
  TensorView gate_proj, up_proj, down_proj;
  // Per-layer embeddings (PLE).
  TensorView ple_gate, ple_projection, ple_post_norm;
  // Mixture of experts.
  TensorView router_proj, router_scale, router_per_expert_scale;  // scales F32
  TensorView experts_gate_up, experts_down;                       // [E, 2I, H], [E, H, I]
  TensorView pre_ffn_norm_2, post_ffn_norm_1, post_ffn_norm_2;
  float layer_scalar = 1.0f;
};

struct ModelWeights {
  TensorView embed_tokens;  // [V, H]
  TensorView lm_head;       // [V, H]: the embedding itself unless the checkpoint has an untied head
  TensorView final_norm;    // [H]
  TensorView embed_per_layer, per_layer_model_projection, per_layer_projection_norm;
  TensorView pooling_dense_1, pooling_dense_2;  // embedding models
  std::vector<LayerWeights> layers;
  // Owns the bytes the views point into (a file mapping, converted buffers).
  std::shared_ptr<WeightSource> source;
};

// Binds every tensor the config needs; throws naming the missing or mis-shaped tensor and the source.
// Small vectors (norms, scales) are converted to float32; matrices are used as stored.
ModelWeights bind_weights(const Gemma4Config& config, std::shared_ptr<WeightSource> source);

// The view in `weights` that schema tensor `spec` (at `layer`, for per-layer ones) binds to; null for
// layer_scalar, which is a float.
TensorView* weight_slot(ModelWeights& weights, const TensorSpec& spec, int64_t layer);

}  // namespace gemma4
