// The live LoRA adapters of Backbone::enable_lora (gemma4/lora_training.h) applied during inference, as
// KerasHub's EinsumDense / Dense use kernel + (alpha / rank) a @ b once LoRA is enabled. Instead of merging the
// factors into the matrices (which would have to be redone whenever a or b changes, and re-quantize Q8_0/Q4_0
// matrices), each adapted projection y = x W^T gets y += scale * (x a) b: two small float32 products beside the
// stored matrix, whatever its dtype. The factors are read from the state at every call, so a caller that writes
// into LoraLayer::a / b (the Python package's NumPy views) sees the effect on the next forward pass.
#pragma once

#include <gemma4/config.h>
#include <gemma4/lora_training.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "model/activations.h"
#include "model/weights.h"

namespace gemma4 {

// The projections of a decoder block an adapter can sit on (KerasHub's layer names in the comments).
enum class LoraSlot : int {
  query,           // q_proj
  key,             // k_proj
  value,           // v_proj
  output,          // attention_output, o_proj
  gate,            // ffw_gating, gate_proj
  up,              // ffw_gating_2, up_proj
  down,            // ffw_linear, down_proj
  ple_gate,        // per_layer_input_gate
  ple_projection,  // per_layer_up_proj, per_layer_projection
};
inline constexpr int kLoraSlots = 9;

class LoraRuntime {
 public:
  // Binds every layer of `state` to its block and projection in `weights`; throws gemma4::Error naming the layer
  // when the state does not fit this model (another architecture, a layer it has not).
  LoraRuntime(const Gemma4Config& config, const ModelWeights& weights, std::shared_ptr<const LoraTrainingState> state);

  const LoraTrainingState& state() const { return *state_; }

  // y[rows, out] += (alpha / rank) * (x[rows, in] a) b for the adapter on `slot` of block `layer`; nothing when
  // it has none or its b is all zero (then y stays bit-identical to the frozen projection's). Uses
  // act.lora_factor / act.lora_down, sized on the first call that needs them (the rank is not known when the
  // activations are made), so later calls allocate nothing.
  void apply(int64_t layer, LoraSlot slot, const float* x, int64_t rows, float* y, TextActivations& act) const;

 private:
  std::shared_ptr<const LoraTrainingState> state_;
  std::vector<std::array<int32_t, kLoraSlots>> index_;  // [block][slot] -> index into state_->layers(), -1 = none
  int64_t factor_floats_ = 0;                           // the largest a (heads * in * rank)
  int64_t down_floats_per_row_ = 0;                     // the largest heads * rank
};

}  // namespace gemma4
