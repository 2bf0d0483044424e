#include "vision/vision_weights.h"

#include <gemma4/error.h>

#include "schema/weight_source.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

class Binder {
 public:
  Binder(const WeightSource& source) : source_(source) {}

  TensorView tensor(const std::string& name, const Shape& expected) const {
    const SourceTensor* found = source_.find(name);
    if (!found) {
      throw Error(source_.description + ": vision encoder tensor " + name + " is missing (expected shape " +
                  shape_to_string(expected) + ")");
    }
    Shape actual = found->view.shape;
    // Scalars may be stored as [] or [1].
    if (expected.empty() && found->view.numel() == 1) actual = {};
    if (actual != expected) {
      throw Error(found->origin + ": vision encoder tensor " + name + " has shape " +
                  shape_to_string(found->view.shape) + ", expected " + shape_to_string(expected));
    }
    return found->view;
  }

  std::vector<float> floats(const std::string& name, const Shape& expected) const {
    const TensorView view = tensor(name, expected);
    std::vector<float> out(static_cast<size_t>(view.numel()));
    kernels::dequantize(view.dtype, view.data, view.numel(), out.data());
    return out;
  }

  float scalar(const std::string& name) const { return floats(name, {})[0]; }

  ClippedLinear linear(const std::string& prefix, int64_t out, int64_t in, bool clipped) const {
    ClippedLinear l;
    l.weight = tensor(prefix + ".linear.weight", {out, in});
    l.clipped = clipped;
    if (clipped) {
      l.input_min = scalar(prefix + ".input_min");
      l.input_max = scalar(prefix + ".input_max");
      l.output_min = scalar(prefix + ".output_min");
      l.output_max = scalar(prefix + ".output_max");
    }
    return l;
  }

 private:
  const WeightSource& source_;
};

}  // namespace

VisionWeights bind_vision_weights(const WeightSource& source, const VisionConfig& c) {
  if (c.head_dim % 4 != 0) {
    throw Error("vision encoder: head_dim " + std::to_string(c.head_dim) +
                " must be a multiple of 4 (two RoPE halves of rotate_half pairs)");
  }
  if (c.num_key_value_heads <= 0 || c.num_heads % c.num_key_value_heads != 0) {
    throw Error("vision encoder: num_heads " + std::to_string(c.num_heads) + " is not a multiple of num_key_value_heads " +
                std::to_string(c.num_key_value_heads));
  }
  const Binder b(source);
  const int64_t hidden = c.hidden_dim;
  const int64_t q_width = c.num_heads * c.head_dim;
  const int64_t kv_width = c.num_key_value_heads * c.head_dim;
  VisionWeights w;
  w.input_proj = b.tensor("vision_tower.patch_embedder.input_proj.weight", {hidden, 3 * c.patch_size * c.patch_size});
  w.position_table = b.tensor("vision_tower.patch_embedder.position_embedding_table", {2, c.position_table_size, hidden});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "vision_tower.encoder.layers." + std::to_string(i) + ".";
    VisionBlockWeights block;
    block.input_norm = b.floats(p + "input_layernorm.weight", {hidden});
    block.post_attention_norm = b.floats(p + "post_attention_layernorm.weight", {hidden});
    block.pre_ffw_norm = b.floats(p + "pre_feedforward_layernorm.weight", {hidden});
    block.post_ffw_norm = b.floats(p + "post_feedforward_layernorm.weight", {hidden});
    block.q_norm = b.floats(p + "self_attn.q_norm.weight", {c.head_dim});
    block.k_norm = b.floats(p + "self_attn.k_norm.weight", {c.head_dim});
    const bool clip = c.use_clipped_linears;
    block.q_proj = b.linear(p + "self_attn.q_proj", q_width, hidden, clip);
    block.k_proj = b.linear(p + "self_attn.k_proj", kv_width, hidden, clip);
    block.v_proj = b.linear(p + "self_attn.v_proj", kv_width, hidden, clip);
    block.o_proj = b.linear(p + "self_attn.o_proj", hidden, q_width, clip);
    block.gate_proj = b.linear(p + "mlp.gate_proj", c.intermediate_dim, hidden, clip);
    block.up_proj = b.linear(p + "mlp.up_proj", c.intermediate_dim, hidden, clip);
    block.down_proj = b.linear(p + "mlp.down_proj", hidden, c.intermediate_dim, clip);
    w.blocks.push_back(std::move(block));
  }
  if (c.standardize) {
    w.std_bias = b.floats("vision_tower.std_bias", {hidden});
    w.std_scale = b.floats("vision_tower.std_scale", {hidden});
  }
  w.output_projection = b.tensor("embed_vision.embedding_projection.weight", {c.output_dim, hidden});
  return w;
}

}  // namespace gemma4
