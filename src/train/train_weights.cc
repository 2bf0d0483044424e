#include "train/train_weights.h"

#include <gemma4/error.h>

#include <map>
#include <set>
#include <string>

#include "schema/tensor_names.h"

namespace gemma4::train {
namespace {

void size_gradient(std::vector<float>& gradient, size_t size, const std::string& what) {
  if (gradient.empty()) {
    gradient.assign(size, 0.0f);
  } else if (gradient.size() != size) {
    throw Error("gradient of " + what + " has " + std::to_string(gradient.size()) + " values but the parameter has " +
                std::to_string(size));
  }
}

class Binder {
 public:
  Binder(const TrainableParameters& parameters, ParameterGradients* gradients)
      : parameters_(parameters), gradients_(gradients) {
    for (size_t i = 0; i < parameters.lora.size(); ++i) add(lora_, parameters.lora[i].tensor, i, "LoRA");
    for (size_t i = 0; i < parameters.full.size(); ++i) add(full_, parameters.full[i].tensor, i, "full");
    if (gradients) {
      if (gradients->lora_a.size() != parameters.lora.size()) gradients->lora_a.resize(parameters.lora.size());
      if (gradients->lora_b.size() != parameters.lora.size()) gradients->lora_b.resize(parameters.lora.size());
      if (gradients->full.size() != parameters.full.size()) gradients->full.resize(parameters.full.size());
    }
  }

  MatrixParam matrix(const std::string& name, const TensorView& stored) {
    MatrixParam m;
    m.weight = stored;
    if (const FullParameter* full = take_full(name, stored, &m.weight_grad)) {
      m.weight.dtype = DType::F32;
      m.weight.data = reinterpret_cast<const uint8_t*>(full->value.data());
      m.weight.nbytes = full->value.size() * sizeof(float);
    }
    const auto found = lora_.find(name);
    if (found != lora_.end()) {
      const size_t index = found->second;
      const LoraParameter& lora = parameters_.lora[index];
      bound_.insert("LoRA " + name);
      if (stored.empty()) throw Error("LoRA parameter '" + name + "': this model has no such tensor");
      if (stored.shape.size() != 2) {
        throw Error("LoRA parameter '" + name + "': the tensor has shape " + shape_to_string(stored.shape) +
                    "; LoRA applies to 2-D matrices only (not to expert banks)");
      }
      if (lora.rank <= 0 || lora.out != stored.shape[0] || lora.in != stored.shape[1] ||
          lora.a.size() != static_cast<size_t>(lora.rank * lora.in) ||
          lora.b.size() != static_cast<size_t>(lora.out * lora.rank)) {
        throw Error("LoRA parameter '" + name + "': rank " + std::to_string(lora.rank) + ", [out, in] = [" +
                    std::to_string(lora.out) + ", " + std::to_string(lora.in) + "], A " + std::to_string(lora.a.size()) +
                    " and B " + std::to_string(lora.b.size()) + " values do not fit the tensor of shape " +
                    shape_to_string(stored.shape));
      }
      m.lora = &lora;
      if (gradients_) {
        size_gradient(gradients_->lora_a[index], lora.a.size(), "LoRA A of '" + name + "'");
        size_gradient(gradients_->lora_b[index], lora.b.size(), "LoRA B of '" + name + "'");
        m.lora_grad_a = gradients_->lora_a[index].data();
        m.lora_grad_b = gradients_->lora_b[index].data();
      }
    }
    return m;
  }

  VectorParam vector(const std::string& name, const TensorView& stored) {
    VectorParam v;
    if (stored.empty()) return v;
    v.value = stored.f32();
    v.size = stored.numel();
    if (const FullParameter* full = take_full(name, stored, &v.grad)) v.value = full->value.data();
    reject_lora(name);
    return v;
  }

  VectorParam scalar(const std::string& name, const float* value) {
    TensorView view;
    view.shape = {1};
    view.data = reinterpret_cast<const uint8_t*>(value);
    view.nbytes = sizeof(float);
    return vector(name, view);
  }

  // Every parameter must have been bound to a tensor of this model.
  void finish() const {
    for (const auto& [name, index] : lora_) {
      if (!bound_.count("LoRA " + name)) throw Error("LoRA parameter '" + name + "': this model has no such tensor");
    }
    for (const auto& [name, index] : full_) {
      if (!bound_.count("full " + name)) throw Error("full parameter '" + name + "': this model has no such tensor");
    }
  }

 private:
  static void add(std::map<std::string, size_t>& map, const std::string& name, size_t index, const char* kind) {
    if (!map.emplace(name, index).second) throw Error(std::string(kind) + " parameter '" + name + "' is given twice");
  }

  const FullParameter* take_full(const std::string& name, const TensorView& stored, float** grad) {
    const auto found = full_.find(name);
    if (found == full_.end()) return nullptr;
    const size_t index = found->second;
    const FullParameter& full = parameters_.full[index];
    bound_.insert("full " + name);
    if (stored.empty()) throw Error("full parameter '" + name + "': this model has no such tensor");
    if (full.shape != stored.shape || full.value.size() != static_cast<size_t>(stored.numel())) {
      throw Error("full parameter '" + name + "': shape " + shape_to_string(full.shape) + " with " +
                  std::to_string(full.value.size()) + " values does not match the tensor's " +
                  shape_to_string(stored.shape));
    }
    if (gradients_) {
      size_gradient(gradients_->full[index], full.value.size(), "full parameter '" + name + "'");
      *grad = gradients_->full[index].data();
    }
    return &full;
  }

  void reject_lora(const std::string& name) const {
    if (lora_.count(name)) throw Error("LoRA parameter '" + name + "': LoRA applies to matrices, not to vectors");
  }

  const TrainableParameters& parameters_;
  ParameterGradients* gradients_;
  std::map<std::string, size_t> lora_, full_;
  std::set<std::string> bound_;
};

}  // namespace

TrainWeights bind_train_weights(const TextModel& model, const TrainableParameters& parameters,
                                ParameterGradients* gradients) {
  const ModelWeights& w = model.weights();
  Binder binder(parameters, gradients);
  TrainWeights t;
  t.embed_tokens = binder.matrix("embed_tokens.weight", w.embed_tokens);
  // The tied head is the embedding itself: the same parameter, both uses adding to one gradient.
  t.lm_head = w.lm_head.data == w.embed_tokens.data ? t.embed_tokens : binder.matrix("lm_head.weight", w.lm_head);
  t.final_norm = binder.vector("norm.weight", w.final_norm);
  t.embed_per_layer = binder.matrix("embed_tokens_per_layer.weight", w.embed_per_layer);
  t.per_layer_model_projection = binder.matrix("per_layer_model_projection.weight", w.per_layer_model_projection);
  t.per_layer_projection_norm = binder.vector("per_layer_projection_norm.weight", w.per_layer_projection_norm);
  for (size_t layer = 0; layer < w.layers.size(); ++layer) {
    const LayerWeights& l = w.layers[layer];
    const auto name = [&](const char* pattern) { return expand_tensor_name(pattern, static_cast<int64_t>(layer)); };
    TrainLayerWeights b;
    b.input_norm = binder.vector(name("layers.{l}.input_layernorm.weight"), l.input_norm);
    b.q_proj = binder.matrix(name("layers.{l}.self_attn.q_proj.weight"), l.q_proj);
    b.q_norm = binder.vector(name("layers.{l}.self_attn.q_norm.weight"), l.q_norm);
    b.k_proj = binder.matrix(name("layers.{l}.self_attn.k_proj.weight"), l.k_proj);
    b.k_norm = binder.vector(name("layers.{l}.self_attn.k_norm.weight"), l.k_norm);
    b.v_proj = binder.matrix(name("layers.{l}.self_attn.v_proj.weight"), l.v_proj);
    b.o_proj = binder.matrix(name("layers.{l}.self_attn.o_proj.weight"), l.o_proj);
    b.post_attention_norm = binder.vector(name("layers.{l}.post_attention_layernorm.weight"), l.post_attention_norm);
    b.pre_ffn_norm = binder.vector(name("layers.{l}.pre_feedforward_layernorm.weight"), l.pre_ffn_norm);
    b.gate_proj = binder.matrix(name("layers.{l}.mlp.gate_proj.weight"), l.gate_proj);
    b.up_proj = binder.matrix(name("layers.{l}.mlp.up_proj.weight"), l.up_proj);
    b.down_proj = binder.matrix(name("layers.{l}.mlp.down_proj.weight"), l.down_proj);
    b.post_ffn_norm = binder.vector(name("layers.{l}.post_feedforward_layernorm.weight"), l.post_ffn_norm);
    b.ple_gate = binder.matrix(name("layers.{l}.per_layer_input_gate.weight"), l.ple_gate);
    b.ple_projection = binder.matrix(name("layers.{l}.per_layer_projection.weight"), l.ple_projection);
    b.ple_post_norm = binder.vector(name("layers.{l}.post_per_layer_input_norm.weight"), l.ple_post_norm);
    b.router_proj = binder.matrix(name("layers.{l}.router.proj.weight"), l.router_proj);
    b.router_scale = binder.vector(name("layers.{l}.router.scale"), l.router_scale);
    b.router_per_expert_scale = binder.vector(name("layers.{l}.router.per_expert_scale"), l.router_per_expert_scale);
    b.experts_gate_up = binder.matrix(name("layers.{l}.experts.gate_up_proj"), l.experts_gate_up);
    b.experts_down = binder.matrix(name("layers.{l}.experts.down_proj"), l.experts_down);
    b.pre_ffn_norm_2 = binder.vector(name("layers.{l}.pre_feedforward_layernorm_2.weight"), l.pre_ffn_norm_2);
    b.post_ffn_norm_1 = binder.vector(name("layers.{l}.post_feedforward_layernorm_1.weight"), l.post_ffn_norm_1);
    b.post_ffn_norm_2 = binder.vector(name("layers.{l}.post_feedforward_layernorm_2.weight"), l.post_ffn_norm_2);
    b.layer_scalar = binder.scalar(name("layers.{l}.layer_scalar"), &l.layer_scalar);
    t.layers.push_back(b);
  }
  binder.finish();
  return t;
}

}  // namespace gemma4::train
