#include "model/lora_runtime.h"

#include <gemma4/error.h>

#include <algorithm>
#include <string>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace gemma4 {
namespace {

struct SlotName {
  const char* keras;
  LoraSlot slot;
};

// KerasHub's layer names (LoraLayer::layer_name, lora_state.cc) -> the projection they adapt.
constexpr SlotName kSlotNames[] = {
    {"query", LoraSlot::query},          {"key", LoraSlot::key},
    {"value", LoraSlot::value},          {"attention_output", LoraSlot::output},
    {"ffw_gating", LoraSlot::gate},      {"ffw_gating_2", LoraSlot::up},
    {"ffw_linear", LoraSlot::down},      {"per_layer_input_gate", LoraSlot::ple_gate},
    {"per_layer_up_proj", LoraSlot::ple_projection},
};

const TensorView& slot_weight(const LayerWeights& w, LoraSlot slot) {
  switch (slot) {
    case LoraSlot::query: return w.q_proj;
    case LoraSlot::key: return w.k_proj;
    case LoraSlot::value: return w.v_proj;
    case LoraSlot::output: return w.o_proj;
    case LoraSlot::gate: return w.gate_proj;
    case LoraSlot::up: return w.up_proj;
    case LoraSlot::down: return w.down_proj;
    case LoraSlot::ple_gate: return w.ple_gate;
    case LoraSlot::ple_projection: return w.ple_projection;
  }
  return w.q_proj;
}

// The adapter as groups x ([in] -> [out_per_group]): query/key/value have one group per head (a [heads, in, r],
// b shared by the heads); the other layers one group whose input is the kernel's leading axes flattened.
struct Geometry {
  int64_t groups = 1, in = 0, out_per_group = 0;
};

Geometry geometry(const LoraLayer& layer) {
  Geometry g;
  const auto& shape = layer.kernel_shape;
  g.out_per_group = shape.back();
  if (layer.heads_first) {
    g.groups = shape.at(0);
    g.in = shape.at(1);
  } else {
    g.in = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) g.in *= shape[i];
  }
  return g;
}

}  // namespace

LoraRuntime::LoraRuntime(const Gemma4Config& config, const ModelWeights& weights,
                         std::shared_ptr<const LoraTrainingState> state)
    : state_(std::move(state)) {
  if (!state_) throw Error("LoraRuntime: no LoRA state");
  std::array<int32_t, kLoraSlots> none;
  none.fill(-1);
  index_.assign(static_cast<size_t>(config.num_layers), none);
  const int64_t rank = state_->rank();
  const auto& layers = state_->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LoraLayer& layer = layers[i];
    const std::string what = "LoRA layer '" + layer.layer_name + "' of block " + std::to_string(layer.block);
    const SlotName* found = std::find_if(std::begin(kSlotNames), std::end(kSlotNames),
                                         [&](const SlotName& s) { return layer.layer_name == s.keras; });
    if (found == std::end(kSlotNames)) throw Error(what + ": not a projection of the text decoder");
    if (layer.block < 0 || layer.block >= config.num_layers || layer.kernel_shape.size() < 2) {
      throw Error(what + ": does not fit this model of " + std::to_string(config.num_layers) + " blocks");
    }
    const TensorView& w = slot_weight(weights.layers[static_cast<size_t>(layer.block)], found->slot);
    const Geometry g = geometry(layer);
    if (w.empty() || w.shape.size() != 2 || w.shape[0] != g.groups * g.out_per_group || w.shape[1] != g.in) {
      throw Error(what + " (" + layer.tensor + "): its kernel does not fit the model's matrix");
    }
    int32_t& slot = index_[static_cast<size_t>(layer.block)][static_cast<int>(found->slot)];
    if (slot >= 0) throw Error(what + ": LoRA-enabled twice");
    slot = static_cast<int32_t>(i);
    factor_floats_ = std::max(factor_floats_, g.groups * g.in * rank);
    down_floats_per_row_ = std::max(down_floats_per_row_, g.groups * rank);
  }
}

void LoraRuntime::apply(int64_t layer, LoraSlot slot, const float* x, int64_t rows, float* y,
                        TextActivations& act) const {
  const int32_t index = index_[static_cast<size_t>(layer)][static_cast<int>(slot)];
  if (index < 0 || rows <= 0) return;
  const LoraLayer& lora = state_->layers().at(static_cast<size_t>(index));
  const int64_t r = state_->rank();
  const Geometry g = geometry(lora);
  if (lora.a.size() != static_cast<size_t>(g.groups * g.in * r) || lora.b.size() != static_cast<size_t>(r * g.out_per_group)) {
    throw Error("LoRA layer '" + lora.layer_name + "' of block " + std::to_string(lora.block) + ": a holds " +
                std::to_string(lora.a.size()) + " and b " + std::to_string(lora.b.size()) + " values, not those of rank " +
                std::to_string(r));
  }
  // b = 0 (enable_lora's initial state): the update is zero; skipping it keeps y exactly the frozen output.
  if (std::all_of(lora.b.begin(), lora.b.end(), [](float v) { return v == 0.0f; })) return;

  // Sized once, for the largest adapter and a whole chunk.
  if (act.lora_factor.size() < static_cast<size_t>(factor_floats_)) act.lora_factor.resize(static_cast<size_t>(factor_floats_));
  const size_t down_floats = static_cast<size_t>(act.max_chunk * down_floats_per_row_);
  if (act.lora_down.size() < down_floats) act.lora_down.resize(down_floats);

  // a [groups, in, r] -> A' [groups * r, in] (row n * r + k), the [out, in] orientation matmul takes. Done at
  // every call because the caller may have written into a since the last one.
  const int64_t width = g.groups * r;  // columns of u = x A'^T
  float* factor = act.lora_factor.data();
  const float* a = lora.a.data();
  for (int64_t n = 0; n < g.groups; ++n) {
    for (int64_t i = 0; i < g.in; ++i) {
      const float* from = a + (n * g.in + i) * r;
      for (int64_t k = 0; k < r; ++k) factor[(n * r + k) * g.in + i] = from[k];
    }
  }
  TensorView& view = act.lora_view;  // its shape has two entries already: setting them allocates nothing
  view.dtype = DType::F32;
  view.shape[0] = width;
  view.shape[1] = g.in;
  view.data = reinterpret_cast<const uint8_t*>(factor);
  view.nbytes = static_cast<size_t>(width * g.in) * sizeof(float);
  float* u = act.lora_down.data();
  kernels::matmul(x, rows, view, u);

  // y[t, n * Y + j] += scale * sum_k u[t, n * r + k] b[k, j].
  const float scale = state_->scale();
  const int64_t Y = g.out_per_group, out = g.groups * Y;
  const float* b = lora.b.data();
  const auto add_rows = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      for (int64_t n = 0; n < g.groups; ++n) {
        float* target = y + t * out + n * Y;
        for (int64_t k = 0; k < r; ++k) kernels::axpy(scale * u[t * width + n * r + k], b + k * Y, target, Y);
      }
    }
  };
  if (rows >= 8) {
    ThreadPool::global().parallel_for(rows, add_rows);
  } else {
    add_rows(0, rows);
  }
}

}  // namespace gemma4
