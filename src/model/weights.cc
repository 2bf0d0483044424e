#include "model/weights.h"

#include <gemma4/error.h>

#include "kernels/matmul.h"
#include "model/tensor_names.h"

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
      } else if (spec.per_layer) {
        weights.layers[layer].*(spec.layer_field) = view;
      } else {
        weights.*(spec.model_field) = view;
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
