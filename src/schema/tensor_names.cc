#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

using C = const Gemma4Config&;

bool always(C, int64_t) { return true; }
bool has_kv(C c, int64_t l) { return !c.is_kv_shared(l); }
bool has_v(C c, int64_t l) { return !c.is_kv_shared(l) && !c.uses_k_eq_v(l); }
bool has_ple(C c, int64_t) { return c.has_ple(); }
bool has_moe(C c, int64_t) { return c.enable_moe_block; }
bool is_embedding(C c, int64_t) { return c.is_embedding_model; }

int64_t q_width(C c, int64_t l) { return c.num_query_heads * c.layer_head_dim(l); }
int64_t kv_width(C c, int64_t l) { return c.layer_kv_heads(l) * c.layer_head_dim(l); }
int64_t ple_width(C c) { return c.num_layers * c.hidden_size_per_layer_input; }

TensorSpec model_tensor(std::string name, std::string gguf, TensorRole role, bool (*present)(C, int64_t),
                        std::function<Shape(C, int64_t)> shape) {
  return TensorSpec{std::move(name), std::move(gguf), false, role, present, std::move(shape)};
}

TensorSpec layer_tensor(std::string name, std::string gguf, TensorRole role, bool (*present)(C, int64_t),
                        std::function<Shape(C, int64_t)> shape) {
  return TensorSpec{std::move(name), std::move(gguf), true, role, present, std::move(shape)};
}

std::vector<TensorSpec> build_specs() {
  const auto M = TensorRole::kMatrix;
  const auto V = TensorRole::kVector;
  const auto hidden = [](C c, int64_t) { return Shape{c.hidden_dim}; };
  const auto head = [](C c, int64_t l) { return Shape{c.layer_head_dim(l)}; };
  std::vector<TensorSpec> specs = {
      model_tensor("embed_tokens.weight", "token_embd.weight", M, always,
                   [](C c, int64_t) { return Shape{c.vocabulary_size, c.hidden_dim}; }),
      model_tensor("embed_tokens_per_layer.weight", "per_layer_token_embd.weight", M, has_ple,
                   [](C c, int64_t) { return Shape{c.ple_vocab_size(), ple_width(c)}; }),
      model_tensor("per_layer_model_projection.weight", "per_layer_model_proj.weight", M, has_ple,
                   [](C c, int64_t) { return Shape{ple_width(c), c.hidden_dim}; }),
      model_tensor("per_layer_projection_norm.weight", "per_layer_proj_norm.weight", V, has_ple,
                   [](C c, int64_t) { return Shape{c.hidden_size_per_layer_input}; }),
      model_tensor("norm.weight", "output_norm.weight", V, always, hidden),
      model_tensor("pooling_head.dense_1.linear.weight", "", M, is_embedding,
                   [](C c, int64_t) { return Shape{c.pooling_intermediate_dim.value_or(0), c.hidden_dim}; }),
      model_tensor("pooling_head.dense_2.linear.weight", "", M, is_embedding,
                   [](C c, int64_t) { return Shape{c.embedding_dim.value_or(0), c.pooling_intermediate_dim.value_or(0)}; }),

      layer_tensor("layers.{l}.input_layernorm.weight", "blk.{l}.attn_norm.weight", V, always, hidden),
      layer_tensor("layers.{l}.self_attn.q_proj.weight", "blk.{l}.attn_q.weight", M, always,
                   [](C c, int64_t l) { return Shape{q_width(c, l), c.hidden_dim}; }),
      layer_tensor("layers.{l}.self_attn.q_norm.weight", "blk.{l}.attn_q_norm.weight", V, always, head),
      layer_tensor("layers.{l}.self_attn.k_proj.weight", "blk.{l}.attn_k.weight", M, has_kv,
                   [](C c, int64_t l) { return Shape{kv_width(c, l), c.hidden_dim}; }),
      layer_tensor("layers.{l}.self_attn.k_norm.weight", "blk.{l}.attn_k_norm.weight", V, has_kv, head),
      layer_tensor("layers.{l}.self_attn.v_proj.weight", "blk.{l}.attn_v.weight", M, has_v,
                   [](C c, int64_t l) { return Shape{kv_width(c, l), c.hidden_dim}; }),
      layer_tensor("layers.{l}.self_attn.o_proj.weight", "blk.{l}.attn_output.weight", M, always,
                   [](C c, int64_t l) { return Shape{c.hidden_dim, q_width(c, l)}; }),
      layer_tensor("layers.{l}.post_attention_layernorm.weight", "blk.{l}.post_attention_norm.weight", V, always, hidden),
      layer_tensor("layers.{l}.pre_feedforward_layernorm.weight", "blk.{l}.ffn_norm.weight", V, always, hidden),
      layer_tensor("layers.{l}.mlp.gate_proj.weight", "blk.{l}.ffn_gate.weight", M, always,
                   [](C c, int64_t l) { return Shape{c.ffn_width(l), c.hidden_dim}; }),
      layer_tensor("layers.{l}.mlp.up_proj.weight", "blk.{l}.ffn_up.weight", M, always,
                   [](C c, int64_t l) { return Shape{c.ffn_width(l), c.hidden_dim}; }),
      layer_tensor("layers.{l}.mlp.down_proj.weight", "blk.{l}.ffn_down.weight", M, always,
                   [](C c, int64_t l) { return Shape{c.hidden_dim, c.ffn_width(l)}; }),
      layer_tensor("layers.{l}.post_feedforward_layernorm.weight", "blk.{l}.post_ffw_norm.weight", V, always, hidden),
      layer_tensor("layers.{l}.per_layer_input_gate.weight", "blk.{l}.inp_gate.weight", M, has_ple,
                   [](C c, int64_t) { return Shape{c.hidden_size_per_layer_input, c.hidden_dim}; }),
      layer_tensor("layers.{l}.per_layer_projection.weight", "blk.{l}.proj.weight", M, has_ple,
                   [](C c, int64_t) { return Shape{c.hidden_dim, c.hidden_size_per_layer_input}; }),
      layer_tensor("layers.{l}.post_per_layer_input_norm.weight", "blk.{l}.post_norm.weight", V, has_ple, hidden),
      layer_tensor("layers.{l}.router.proj.weight", "blk.{l}.ffn_gate_inp.weight", M, has_moe,
                   [](C c, int64_t) { return Shape{c.num_experts.value_or(0), c.hidden_dim}; }),
      layer_tensor("layers.{l}.router.scale", "blk.{l}.ffn_gate_inp.scale", V, has_moe, hidden),
      layer_tensor("layers.{l}.router.per_expert_scale", "blk.{l}.ffn_down_exps.scale", V, has_moe,
                   [](C c, int64_t) { return Shape{c.num_experts.value_or(0)}; }),
      layer_tensor("layers.{l}.experts.gate_up_proj", "blk.{l}.ffn_gate_up_exps.weight", M, has_moe,
                   [](C c, int64_t) {
                     return Shape{c.num_experts.value_or(0), 2 * c.expert_intermediate_dim.value_or(0), c.hidden_dim};
                   }),
      layer_tensor("layers.{l}.experts.down_proj", "blk.{l}.ffn_down_exps.weight", M, has_moe,
                   [](C c, int64_t) {
                     return Shape{c.num_experts.value_or(0), c.hidden_dim, c.expert_intermediate_dim.value_or(0)};
                   }),
      layer_tensor("layers.{l}.pre_feedforward_layernorm_2.weight", "blk.{l}.pre_ffw_norm_2.weight", V, has_moe, hidden),
      layer_tensor("layers.{l}.post_feedforward_layernorm_1.weight", "blk.{l}.post_ffw_norm_1.weight", V, has_moe, hidden),
      layer_tensor("layers.{l}.post_feedforward_layernorm_2.weight", "blk.{l}.post_ffw_norm_2.weight", V, has_moe, hidden),
  };
  // layer_scalar is a float in the model, not a view, but is listed for loading and counting.
  TensorSpec scalar{"layers.{l}.layer_scalar", "blk.{l}.layer_output_scale.weight", true, TensorRole::kScalar, always,
                    [](C, int64_t) { return Shape{1}; }};
  specs.push_back(scalar);
  return specs;
}

}  // namespace

const std::vector<TensorSpec>& text_tensor_specs() {
  static const std::vector<TensorSpec> specs = build_specs();
  return specs;
}

std::string expand_tensor_name(const std::string& pattern, int64_t layer) {
  const auto at = pattern.find("{l}");
  if (at == std::string::npos) return pattern;
  return pattern.substr(0, at) + std::to_string(layer) + pattern.substr(at + 3);
}

std::vector<ExpectedTensor> expected_text_tensors(const Gemma4Config& config) {
  std::vector<ExpectedTensor> out;
  for (const auto& spec : text_tensor_specs()) {
    if (!spec.per_layer) {
      if (spec.present(config, 0)) out.push_back({spec.name, spec.gguf_name, spec.shape(config, 0), spec.role});
    }
  }
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    for (const auto& spec : text_tensor_specs()) {
      if (spec.per_layer && spec.present(config, layer)) {
        out.push_back({expand_tensor_name(spec.name, layer), expand_tensor_name(spec.gguf_name, layer),
                       spec.shape(config, layer), spec.role});
      }
    }
  }
  return out;
}

int64_t count_text_parameters(const Gemma4Config& config) {
  int64_t total = 0;
  for (const auto& tensor : expected_text_tensors(config)) {
    int64_t count = 1;
    for (int64_t dim : tensor.shape) count *= dim;
    total += count;
  }
  return total;
}

}  // namespace gemma4
