// One decoder layer of the training pass: the forward (TextModel's arithmetic over a whole sequence,
// keeping what the backward needs in a LayerTape) and its backward.
#pragma once

#include <cstdint>
#include <vector>

#include "model/moe_routing.h"
#include "model/text_model.h"
#include "train/attention_grads.h"
#include "train/train_weights.h"

namespace gemma4::train {

// Keys (normed, rotated) and values (normed) of one layer that computes them, over the sequence, and
// the gradients every layer reading them (itself and its KV-sharing readers) adds into.
struct LayerKv {
  std::vector<float> k, v;    // [T, kv_heads * head_dim]
  std::vector<float> dk, dv;  // same shape
};

// What one layer's forward keeps for its backward. Rows are tokens; widths as named.
struct LayerTape {
  std::vector<float> input;               // [T, H] the residual entering the layer
  std::vector<float> normed;              // [T, H] input_norm(input)
  std::vector<float> q_raw, q;            // [T, Hq * D] projection; after q_norm and RoPE
  std::vector<float> k_raw, v_raw;        // [T, kv] projections (own K/V layers)
  AttentionStats stats;
  std::vector<float> context;             // [T, Hq * D]
  std::vector<float> attn_out;            // [T, H] o_proj(context)
  std::vector<float> h1;                  // [T, H] input + post_attention_norm(attn_out)
  std::vector<float> mlp_normed;          // [T, H]
  std::vector<float> gate, up, act;       // [T, F] projections; gelu(gate) * up
  std::vector<float> dense;               // [T, H] down_proj(act)
  std::vector<float> ffn_sum;             // [T, H] input of post_feedforward_layernorm
  std::vector<float> h2;                  // [T, H] h1 + post_ffn_norm(ffn_sum)
  std::vector<float> ple_gate, ple_act;   // [T, P] gate projection; gelu(gate) * per-layer input
  std::vector<float> ple_proj;            // [T, H]
  std::vector<float> h3;                  // [T, H] h2 + post_per_layer_input_norm(ple_proj)
  // Mixture of experts.
  std::vector<float> router_unit, routed;  // [T, H] rms(h1); * hidden^-1/2 * router scale
  std::vector<float> probabilities;        // [T, E] softmax of the router logits
  std::vector<ExpertChoice> choices;       // [T, k]
  std::vector<float> expert_input;         // [T, H] pre_feedforward_layernorm_2(h1)
  std::vector<float> expert_gate_up, expert_act, expert_out;  // per choice: [T k, 2I], [T k, I], [T k, H]
  std::vector<float> moe_out;              // [T, H] sum_k weight_k expert_k
};

class DecoderPass {
 public:
  DecoderPass(const TextModel& model, const TrainWeights& weights, int64_t length);

  // Runs layer `layer` on tape.input (which the caller fills), writing the tape, kv[layer] (own K/V
  // layers) and `output` [T, H]. `ple` [T, layers * P] is the per-layer input (null without PLE).
  void forward(int64_t layer, const float* ple, LayerTape& tape, std::vector<LayerKv>& kv, float* output) const;

  // Given doutput [T, H], writes dinput [T, H] and adds into dple, kv's gradients and the parameters'.
  // A layer with its own K/V must run after every layer that reads them (the backward's order).
  void backward(int64_t layer, const float* ple, const LayerTape& tape, std::vector<LayerKv>& kv, const float* doutput,
                float* dinput, float* dple) const;

 private:
  void moe_forward(int64_t layer, LayerTape& tape) const;
  void moe_backward(int64_t layer, const LayerTape& tape, const float* dmoe, float* dh1) const;
  AttentionGeometry geometry(int64_t layer) const;

  const Gemma4Config& config_;
  const TrainWeights& weights_;
  int64_t length_;
  float eps_;
};

}  // namespace gemma4::train
