#include "model/weights.h"

#include <gemma4/error.h>

#include <map>
#include <string>

#include "kernels/matmul.h"
#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

bool is_float_type(DType type) { return type == DType::F32 || type == DType::BF16 || type == DType::F16; }

// Decodes a small tensor to float32 in a buffer the source owns.
TensorView to_f32(const TensorView& view, WeightSource& source) {
  if (view.dtype == DType::F32) return view;
  auto& buffer = source.new_buffer(static_cast<size_t>(view.numel()) * sizeof(float));
  kernels::dequantize(view.dtype, view.data, view.numel(), reinterpret_cast<float*>(buffer.data()));
  TensorView out;
  out.dtype = DType::F32;
  out.shape = view.shape;
  out.data = buffer.data();
  out.nbytes = buffer.size();
  return out;
}

TensorView find_checked(const WeightSource& source, const std::string& name, const Shape& shape, TensorRole role) {
  const SourceTensor* found = source.find(name);
  if (found == nullptr) {
    throw Error("missing tensor '" + name + "' (expected shape " + shape_to_string(shape) + ") in " + source.description);
  }
  const TensorView& view = found->view;
  // A [1] scalar may also be stored as a 0-d tensor.
  const bool scalar_ok = role == TensorRole::kScalar && view.numel() == 1;
  if (view.shape != shape && !scalar_ok) {
    throw Error(found->origin + ": tensor '" + name + "' has shape " + shape_to_string(view.shape) +
                " but the config needs " + shape_to_string(shape));
  }
  if (role != TensorRole::kMatrix && !is_float_type(view.dtype)) {
    throw Error(found->origin + ": tensor '" + name + "' is stored as " + dtype_name(view.dtype) +
                "; norms and scales must be F32, BF16 or F16");
  }
  if (role == TensorRole::kMatrix && (view.dtype == DType::I32 || view.dtype == DType::I64 || view.dtype == DType::U8)) {
    throw Error(found->origin + ": tensor '" + name + "' has integer type " + dtype_name(view.dtype) +
                ", not a weight type");
  }
  return view;
}

}  // namespace

// Where each tensor of the schema table lives in the model structs (layer_scalar is a float, bound apart).
TensorView* weight_slot(ModelWeights& weights, const TensorSpec& spec, int64_t layer) {
  static const std::map<std::string, TensorView ModelWeights::*> model_slots = {
      {"embed_tokens.weight", &ModelWeights::embed_tokens},
      {"embed_tokens_per_layer.weight", &ModelWeights::embed_per_layer},
      {"per_layer_model_projection.weight", &ModelWeights::per_layer_model_projection},
      {"per_layer_projection_norm.weight", &ModelWeights::per_layer_projection_norm},
      {"norm.weight", &ModelWeights::final_norm},
      {"pooling_head.dense_1.linear.weight", &ModelWeights::pooling_dense_1},
      {"pooling_head.dense_2.linear.weight", &ModelWeights::pooling_dense_2},
  };
  static const std::map<std::string, TensorView LayerWeights::*> layer_slots = {
      {"layers.{l}.input_layernorm.weight", &LayerWeights::input_norm},
      {"layers.{l}.self_attn.q_proj.weight", &LayerWeights::q_proj},
      {"layers.{l}.self_attn.q_norm.weight", &LayerWeights::q_norm},
      {"layers.{l}.self_attn.k_proj.weight", &LayerWeights::k_proj},
      {"layers.{l}.self_attn.k_norm.weight", &LayerWeights::k_norm},
      {"layers.{l}.self_attn.v_proj.weight", &LayerWeights::v_proj},
      {"layers.{l}.self_attn.o_proj.weight", &LayerWeights::o_proj},
      {"layers.{l}.post_attention_layernorm.weight", &LayerWeights::post_attention_norm},
      {"layers.{l}.pre_feedforward_layernorm.weight", &LayerWeights::pre_ffn_norm},
      {"layers.{l}.mlp.gate_proj.weight", &LayerWeights::gate_proj},
      {"layers.{l}.mlp.up_proj.weight", &LayerWeights::up_proj},
      {"layers.{l}.mlp.down_proj.weight", &LayerWeights::down_proj},
      {"layers.{l}.post_feedforward_layernorm.weight", &LayerWeights::post_ffn_norm},
      {"layers.{l}.per_layer_input_gate.weight", &LayerWeights::ple_gate},
      {"layers.{l}.per_layer_projection.weight", &LayerWeights::ple_projection},
      {"layers.{l}.post_per_layer_input_norm.weight", &LayerWeights::ple_post_norm},
      {"layers.{l}.router.proj.weight", &LayerWeights::router_proj},
      {"layers.{l}.router.scale", &LayerWeights::router_scale},
      {"layers.{l}.router.per_expert_scale", &LayerWeights::router_per_expert_scale},
      {"layers.{l}.experts.gate_up_proj", &LayerWeights::experts_gate_up},
      {"layers.{l}.experts.down_proj", &LayerWeights::experts_down},
      {"layers.{l}.pre_feedforward_layernorm_2.weight", &LayerWeights::pre_ffn_norm_2},
      {"layers.{l}.post_feedforward_layernorm_1.weight", &LayerWeights::post_ffn_norm_1},
      {"layers.{l}.post_feedforward_layernorm_2.weight", &LayerWeights::post_ffn_norm_2},
  };
  if (!spec.per_layer) {
    const auto found = model_slots.find(spec.name);
    return found == model_slots.end() ? nullptr : &(weights.*(found->second));
  }
  const auto found = layer_slots.find(spec.name);
  return found == layer_slots.end() ? nullptr : &(weights.layers.at(static_cast<size_t>(layer)).*(found->second));
}

ModelWeights bind_weights(const Gemma4Config& config, std::shared_ptr<WeightSource> source) {
  ModelWeights weights;
  weights.layers.resize(static_cast<size_t>(config.num_layers));
  for (const auto& spec : text_tensor_specs()) {
    const int64_t layer_count = spec.per_layer ? config.num_layers : 1;
    for (int64_t layer = 0; layer < layer_count; ++layer) {
      if (!spec.present(config, layer)) continue;
      const std::string name = expand_tensor_name(spec.name, layer);
      TensorView view = find_checked(*source, name, spec.shape(config, layer), spec.role);
      if (spec.role != TensorRole::kMatrix) view = to_f32(view, *source);
      if (spec.role == TensorRole::kScalar) {
        weights.layers[layer].layer_scalar = view.f32()[0];
      } else {
        TensorView* slot = weight_slot(weights, spec, layer);
        if (slot == nullptr) throw Error("internal: tensor '" + spec.name + "' of the schema has no place in the model");
        *slot = view;
      }
    }
  }
  weights.lm_head = weights.embed_tokens;
  if (const SourceTensor* head = source->find("lm_head.weight")) {
    const Shape expected{config.vocabulary_size, config.hidden_dim};
    if (head->view.shape != expected) {
      throw Error(head->origin + ": tensor 'lm_head.weight' has shape " + shape_to_string(head->view.shape) +
                  " but the config needs " + shape_to_string(expected));
    }
    weights.lm_head = head->view;
  }
  weights.source = std::move(source);
  return weights;
}

}  // namespace gemma4
