#include "formats/keras_names.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "schema/tensor_names.h"

namespace gemma4 {

const char* const kKerasVisionPrefix = "layers/gemma4_vision_encoder/";
const char* const kKerasAudioPrefix = "layers/gemma4_audio_encoder/";

namespace {

using L = KerasLayout;

std::vector<KerasNameRule> build_rules() {
  std::vector<KerasNameRule> r;
  auto text = [&](std::string canonical, std::string keras, L layout = L::kSame, std::string second = "") {
    r.push_back({KerasPart::kText, std::move(canonical), std::move(keras), layout, std::move(second)});
  };
  // Top-level layers, in the functional model's layer order (this order numbers the "{n}" paths).
  text("embed_tokens.weight", "layers/reversible_embedding/vars/0");
  text("embed_tokens_per_layer.weight", "layers/embedding/vars/0");
  text("per_layer_model_projection.weight", "layers/dense{n}/vars/0", L::kTransposed);
  text("per_layer_projection_norm.weight", "layers/rms_normalization{n}/vars/0");
  text("norm.weight", "layers/rms_normalization{n}/vars/0");
  text("pooling_head.dense_1.linear.weight", "layers/dense{n}/vars/0", L::kTransposed);
  text("pooling_head.dense_2.linear.weight", "layers/dense{n}/vars/0", L::kTransposed);
  // Decoder blocks.
  const std::string b = "layers/gemma4_text_decoder_block{i}/";
  const std::string l = "layers.{i}.";
  text(l + "layer_scalar", b + "vars/0", L::kScalar);
  text(l + "input_layernorm.weight", b + "pre_attention_norm/vars/0");
  text(l + "self_attn.q_proj.weight", b + "attention/query_dense/vars/0", L::kHeadsFirst);
  text(l + "self_attn.q_norm.weight", b + "attention/query_norm/vars/0");
  text(l + "self_attn.k_proj.weight", b + "attention/key_dense/vars/0", L::kHeadsFirst);
  text(l + "self_attn.k_norm.weight", b + "attention/key_norm/vars/0");
  text(l + "self_attn.v_proj.weight", b + "attention/value_dense/vars/0", L::kHeadsFirst);
  text(l + "self_attn.o_proj.weight", b + "attention/output_dense/vars/0", L::kTransposed);
  text(l + "post_attention_layernorm.weight", b + "post_attention_norm/vars/0");
  text(l + "pre_feedforward_layernorm.weight", b + "pre_ffw_norm/vars/0");
  text(l + "mlp.gate_proj.weight", b + "gating_ffw/vars/0", L::kTransposed);
  text(l + "mlp.up_proj.weight", b + "gating_ffw_2/vars/0", L::kTransposed);
  text(l + "mlp.down_proj.weight", b + "ffw_linear/vars/0", L::kTransposed);
  text(l + "post_feedforward_layernorm.weight", b + "post_ffw_norm/vars/0");
  text(l + "per_layer_input_gate.weight", b + "per_layer_input_gate/vars/0", L::kTransposed);
  text(l + "per_layer_projection.weight", b + "per_layer_up_proj/vars/0", L::kTransposed);
  text(l + "post_per_layer_input_norm.weight", b + "post_per_layer_input_norm/vars/0");
  text(l + "router.scale", b + "moe_router/vars/0");
  text(l + "router.proj.weight", b + "moe_router/proj/vars/0", L::kTransposed);
  text(l + "router.per_expert_scale", b + "moe_expert_bank/vars/3");
  text(l + "experts.gate_up_proj", b + "moe_expert_bank/vars/0", L::kExpertsGateUp, b + "moe_expert_bank/vars/1");
  text(l + "experts.down_proj", b + "moe_expert_bank/vars/2", L::kBatchTransposed);
  text(l + "pre_feedforward_layernorm_2.weight", b + "pre_ffw_norm_moe/vars/0");
  text(l + "post_feedforward_layernorm_1.weight", b + "post_ffw_norm_dense/vars/0");
  text(l + "post_feedforward_layernorm_2.weight", b + "post_ffw_norm_moe_path/vars/0");

  // A clipped linear (vision encoder, audio conformer): a kernel under "<path>/dense" and four
  // clip scalars as the layer's own variables, in KerasHub's creation order.
  auto clipped = [&](KerasPart part, const std::string& canonical, const std::string& keras, L layout) {
    r.push_back({part, canonical + ".linear.weight", keras + "/dense/vars/0", layout, ""});
    const char* clips[] = {"input_min", "input_max", "output_min", "output_max"};
    for (int k = 0; k < 4; ++k) {
      r.push_back({part, canonical + "." + clips[k], keras + "/vars/" + std::to_string(k), L::kSame, ""});
    }
  };

  // Vision encoder.
  auto vision = [&](std::string canonical, std::string keras, L layout = L::kSame) {
    r.push_back({KerasPart::kVision, std::move(canonical), std::move(keras), layout, ""});
  };
  const std::string ve = std::string(kKerasVisionPrefix) + "layers/gemma4_vision_encoder_block/";
  const std::string vo = std::string(kKerasVisionPrefix) + "layers/gemma4_vision_output/";
  vision("vision_tower.patch_embedder.input_proj.weight", ve + "patch_embedder/input_proj/vars/0", L::kTransposed);
  vision("vision_tower.patch_embedder.position_embedding_table", ve + "patch_embedder/vars/0");
  vision("vision_tower.std_bias", vo + "vars/0");
  vision("vision_tower.std_scale", vo + "vars/1");
  vision("embed_vision.embedding_projection.weight", vo + "vision_input_projection/vars/0", L::kTransposed);
  const std::string vb = ve + "encoder_blocks/gemma4_vision_decoder_block{i}/";
  const std::string vl = "vision_tower.encoder.layers.{i}.";
  vision(vl + "input_layernorm.weight", vb + "pre_attention_norm/vars/0");
  vision(vl + "post_attention_layernorm.weight", vb + "post_attention_norm/vars/0");
  vision(vl + "pre_feedforward_layernorm.weight", vb + "pre_ffw_norm/vars/0");
  vision(vl + "post_feedforward_layernorm.weight", vb + "post_ffw_norm/vars/0");
  vision(vl + "self_attn.q_norm.weight", vb + "attention/query_norm/vars/0");
  vision(vl + "self_attn.k_norm.weight", vb + "attention/key_norm/vars/0");
  clipped(KerasPart::kVision, vl + "self_attn.q_proj", vb + "attention/query_dense", L::kHeadsFirst);
  clipped(KerasPart::kVision, vl + "self_attn.k_proj", vb + "attention/key_dense", L::kHeadsFirst);
  clipped(KerasPart::kVision, vl + "self_attn.v_proj", vb + "attention/value_dense", L::kHeadsFirst);
  clipped(KerasPart::kVision, vl + "self_attn.o_proj", vb + "attention/output_dense", L::kTransposed);
  clipped(KerasPart::kVision, vl + "mlp.gate_proj", vb + "gating_ffw", L::kTransposed);
  clipped(KerasPart::kVision, vl + "mlp.up_proj", vb + "gating_ffw_2", L::kTransposed);
  clipped(KerasPart::kVision, vl + "mlp.down_proj", vb + "ffw_linear", L::kTransposed);

  // Audio encoder.
  auto audio = [&](std::string canonical, std::string keras, L layout = L::kSame) {
    r.push_back({KerasPart::kAudio, std::move(canonical), std::move(keras), layout, ""});
  };
  const std::string ae = kKerasAudioPrefix;
  const std::string sub = ae + "layers/gemma4_audio_sub_sample_conv_projection/";
  for (const char* k : {"0", "1"}) {
    audio(std::string("audio_tower.subsample_conv_projection.layer") + k + ".conv.weight",
          sub + "conv_" + k + "/conv/vars/0", L::kConv2d);
    audio(std::string("audio_tower.subsample_conv_projection.layer") + k + ".norm.weight", sub + "conv_" + k + "/norm/vars/0");
  }
  audio("audio_tower.subsample_conv_projection.input_proj_linear.weight", sub + "input_proj/vars/0", L::kTransposed);
  audio("audio_tower.output_proj.weight", ae + "layers/dense/vars/0", L::kTransposed);
  audio("audio_tower.output_proj.bias", ae + "layers/dense/vars/1");
  audio("embed_audio.embedding_projection.weight", ae + "audio_output_projection/vars/0", L::kTransposed);
  const std::string ab = ae + "conformer_blocks/gemma4_audio_conformer_block{i}/";
  const std::string al = "audio_tower.layers.{i}.";
  clipped(KerasPart::kAudio, al + "self_attn.q_proj", ab + "attention/attn/q_proj", L::kTransposed);
  clipped(KerasPart::kAudio, al + "self_attn.k_proj", ab + "attention/attn/k_proj", L::kTransposed);
  clipped(KerasPart::kAudio, al + "self_attn.v_proj", ab + "attention/attn/v_proj", L::kTransposed);
  clipped(KerasPart::kAudio, al + "self_attn.post", ab + "attention/out_proj", L::kTransposed);
  audio(al + "self_attn.relative_k_proj.weight", ab + "attention/attn/rpe/vars/0", L::kTransposed);
  audio(al + "self_attn.per_dim_scale", ab + "attention/attn/vars/0");
  audio(al + "norm_pre_attn.weight", ab + "attention/pre_attn_norm/vars/0");
  audio(al + "norm_post_attn.weight", ab + "attention/post_norm/vars/0");
  for (const auto& [keras, hf] : {std::pair{"ffw_start", "feed_forward1"}, std::pair{"ffw_end", "feed_forward2"}}) {
    clipped(KerasPart::kAudio, al + hf + ".ffw_layer_1", ab + keras + "/ffw_1", L::kTransposed);
    clipped(KerasPart::kAudio, al + hf + ".ffw_layer_2", ab + keras + "/ffw_2", L::kTransposed);
    audio(al + hf + ".pre_layer_norm.weight", ab + keras + "/pre_norm/vars/0");
    audio(al + hf + ".post_layer_norm.weight", ab + keras + "/post_norm/vars/0");
  }
  clipped(KerasPart::kAudio, al + "lconv1d.linear_start", ab + "lconv/linear_start", L::kTransposed);
  clipped(KerasPart::kAudio, al + "lconv1d.linear_end", ab + "lconv/linear_end", L::kTransposed);
  audio(al + "lconv1d.depthwise_conv1d.weight", ab + "lconv/depthwise_conv/vars/0", L::kDepthwiseConv1d);
  audio(al + "lconv1d.pre_layer_norm.weight", ab + "lconv/pre_norm/vars/0");
  audio(al + "lconv1d.conv_norm.weight", ab + "lconv/conv_norm/vars/0");
  audio(al + "norm_out.weight", ab + "norm/vars/0");
  return r;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Keras numbers repeated names "", "_1", "_2", ...
std::string container_suffix(int64_t index) { return index == 0 ? "" : "_" + std::to_string(index); }

bool has_block_index(const KerasNameRule& rule) { return rule.canonical.find("{i}") != std::string::npos; }

std::string keras_shape_string(const Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// One tensor to read: the rule with its placeholders filled in.
struct Planned {
  const KerasNameRule* rule;
  std::string canonical;
  std::string keras;
  std::string keras_second;
  const ExpectedTensor* expected;  // text tensors: what the config needs
};

// out[b][c][r] = in[b][r][c], in cache-sized tiles.
template <typename T>
void transpose_typed(const T* in, T* out, int64_t batch, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;
  for (int64_t b = 0; b < batch; ++b) {
    const T* src = in + b * rows * cols;
    T* dst = out + b * rows * cols;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r) {
          for (int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
        }
      }
    }
  }
}

void transpose_batched(const uint8_t* in, uint8_t* out, int64_t batch, int64_t rows, int64_t cols, size_t elem) {
  if (elem == 4) {
    transpose_typed(reinterpret_cast<const uint32_t*>(in), reinterpret_cast<uint32_t*>(out), batch, rows, cols);
  } else if (elem == 2) {
    transpose_typed(reinterpret_cast<const uint16_t*>(in), reinterpret_cast<uint16_t*>(out), batch, rows, cols);
  } else {
    throw Error("transpose of " + std::to_string(elem) + "-byte elements is not supported");
  }
}

// out axis k = in axis perm[k]; for the small convolution kernels.
void permute(const uint8_t* in, uint8_t* out, const Shape& shape, const std::vector<int>& perm, size_t elem) {
  const size_t rank = shape.size();
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t k = rank; k-- > 1;) in_stride[k - 1] = in_stride[k] * shape[k];
  Shape out_shape(rank);
  for (size_t k = 0; k < rank; ++k) out_shape[k] = shape[perm[k]];
  int64_t total = 1;
  for (int64_t dim : shape) total *= dim;
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0; o < total; ++o) {
    int64_t offset = 0;
    for (size_t k = 0; k < rank; ++k) offset += index[k] * in_stride[perm[k]];
    std::memcpy(out + o * elem, in + offset * elem, elem);
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < out_shape[k]) break;
      index[k] = 0;
    }
  }
}

// The canonical shape a Keras shape turns into, or "" in `problem` when the layout does not apply.
Shape layout_shape(KerasLayout layout, const Shape& k, std::string& problem) {
  auto need_rank = [&](size_t rank) {
    if (k.size() != rank) problem = "a rank-" + std::to_string(rank) + " variable was expected";
    return k.size() == rank;
  };
  switch (layout) {
    case L::kSame:
      return k;
    case L::kScalar:
      if (!k.empty() && !(k.size() == 1 && k[0] == 1)) problem = "a scalar was expected";
      return {1};
    case L::kTransposed: {
      if (k.size() < 2) {
        problem = "a kernel of rank 2 or more was expected";
        return {};
      }
      int64_t rows = 1;
      for (size_t i = 0; i + 1 < k.size(); ++i) rows *= k[i];
      return {k.back(), rows};
    }
    case L::kHeadsFirst:
      if (!need_rank(3)) return {};
      return {k[0] * k[2], k[1]};
    case L::kBatchTransposed:
      if (!need_rank(3)) return {};
      return {k[0], k[2], k[1]};
    case L::kExpertsGateUp:
      if (!need_rank(3)) return {};
      return {k[0], 2 * k[2], k[1]};
    case L::kConv2d:
      if (!need_rank(4)) return {};
      return {k[3], k[2], k[0], k[1]};
    case L::kDepthwiseConv1d:
      if (!need_rank(3)) return {};
      return {k[1], k[2], k[0]};
  }
  return k;
}

// Rearranges Keras bytes `in` (shape `k`) into canonical order in `out`.
void convert(KerasLayout layout, const Shape& k, const uint8_t* in, const uint8_t* second, uint8_t* out, size_t elem) {
  switch (layout) {
    case L::kSame:
    case L::kScalar: {
      int64_t count = 1;
      for (int64_t dim : k) count *= dim;
      std::memcpy(out, in, static_cast<size_t>(count) * elem);
      return;
    }
    case L::kTransposed: {
      int64_t rows = 1;
      for (size_t i = 0; i + 1 < k.size(); ++i) rows *= k[i];
      transpose_batched(in, out, 1, rows, k.back(), elem);
      return;
    }
    case L::kHeadsFirst:
    case L::kBatchTransposed:
      transpose_batched(in, out, k[0], k[1], k[2], elem);
      return;
    case L::kExpertsGateUp: {
      // Each expert: gate^T (I x D) then up^T (I x D).
      const int64_t experts = k[0], width = k[1], inner = k[2];
      const size_t bank = static_cast<size_t>(width * inner) * elem;
      for (int64_t e = 0; e < experts; ++e) {
        transpose_batched(in + e * bank, out + 2 * e * bank, 1, width, inner, elem);
        transpose_batched(second + e * bank, out + (2 * e + 1) * bank, 1, width, inner, elem);
      }
      return;
    }
    case L::kConv2d:
      permute(in, out, k, {3, 2, 0, 1}, elem);
      return;
    case L::kDepthwiseConv1d:
      permute(in, out, k, {1, 2, 0}, elem);
      return;
  }
}

void load_planned(const KerasH5Store& store, const Planned& p, WeightSource& source) {
  const KerasDataset* first = store.find(p.keras);
  auto where = [&](const KerasDataset* d, const std::string& path) {
    return (d ? d->file : store.description()) + ": dataset '" + path + "' (tensor '" + p.canonical + "')";
  };
  if (first == nullptr) throw Error(store.description() + ": dataset '" + p.keras + "' for tensor '" + p.canonical + "' is missing");
  const KerasDataset* second = nullptr;
  if (p.rule->layout == L::kExpertsGateUp) {
    second = store.find(p.keras_second);
    if (second == nullptr) {
      throw Error(store.description() + ": dataset '" + p.keras_second + "' for tensor '" + p.canonical + "' is missing");
    }
    if (second->shape != first->shape || second->dtype != first->dtype) {
      throw Error(where(second, p.keras_second) + " has shape " + keras_shape_string(second->shape) + " " +
                  dtype_name(second->dtype) + " but its gate bank '" + p.keras + "' has " +
                  keras_shape_string(first->shape) + " " + dtype_name(first->dtype));
    }
  }
  std::string problem;
  const Shape shape = layout_shape(p.rule->layout, first->shape, problem);
  if (!problem.empty()) {
    throw Error(where(first, p.keras) + " has shape " + keras_shape_string(first->shape) + "; " + problem);
  }
  if (p.expected != nullptr && shape != p.expected->shape) {
    throw Error(where(first, p.keras) + " has shape " + keras_shape_string(first->shape) + ", which gives " +
                shape_to_string(shape) + ", but the config needs " + shape_to_string(p.expected->shape));
  }
  const size_t elem = static_cast<size_t>(dtype_block_bytes(first->dtype));
  size_t nbytes = elem;
  for (int64_t dim : shape) nbytes *= static_cast<size_t>(dim);
  std::vector<uint8_t>& buffer = source.new_buffer(nbytes);
  if (p.rule->layout == L::kSame || p.rule->layout == L::kScalar) {
    store.read(p.keras, buffer);  // already in canonical order
  } else {
    std::vector<uint8_t> raw, raw_second;
    store.read(p.keras, raw);
    if (second != nullptr) store.read(p.keras_second, raw_second);
    convert(p.rule->layout, first->shape, raw.data(), raw_second.data(), buffer.data(), elem);
  }
  TensorView view;
  view.dtype = first->dtype;
  view.shape = shape;
  view.data = buffer.data();
  view.nbytes = buffer.size();
  source.add(p.canonical, view, first->file);
}

}  // namespace

const std::vector<KerasNameRule>& keras_name_rules() {
  static const std::vector<KerasNameRule> rules = build_rules();
  return rules;
}

std::vector<std::string> map_keras_weights(const KerasH5Store& store, const Gemma4Config& config, WeightSource& source) {
  const std::vector<ExpectedTensor> expected_list = expected_text_tensors(config);
  std::map<std::string, const ExpectedTensor*> expected;
  for (const auto& tensor : expected_list) expected[tensor.name] = &tensor;

  std::vector<Planned> plan;
  std::map<std::string, int64_t> numbered;  // "{n}" path -> uses so far
  std::set<std::string> planned_text;
  auto add = [&](const KerasNameRule& rule, int64_t index, const ExpectedTensor* need) {
    Planned p{&rule, rule.canonical, rule.keras, rule.keras_second, need};
    if (index >= 0) {
      p.canonical = replace_all(p.canonical, "{i}", std::to_string(index));
      p.keras = replace_all(p.keras, "{i}", container_suffix(index));
      p.keras_second = replace_all(p.keras_second, "{i}", container_suffix(index));
    }
    if (p.keras.find("{n}") != std::string::npos) {
      p.keras = replace_all(p.keras, "{n}", container_suffix(numbered[rule.keras]++));
    }
    plan.push_back(std::move(p));
  };

  const auto& rules = keras_name_rules();
  // Text: exactly the tensors the config needs.
  for (const auto& rule : rules) {
    if (rule.part != KerasPart::kText) continue;
    for (int64_t layer = has_block_index(rule) ? 0 : -1; layer < (has_block_index(rule) ? config.num_layers : 0); ++layer) {
      const std::string name = layer >= 0 ? replace_all(rule.canonical, "{i}", std::to_string(layer)) : rule.canonical;
      auto it = expected.find(name);
      if (it == expected.end()) continue;
      add(rule, layer, it->second);
      planned_text.insert(name);
    }
  }
  for (const auto& tensor : expected_list) {
    if (!planned_text.count(tensor.name)) {
      throw Error("no KerasHub variable is known for tensor '" + tensor.name + "' (formats/keras_names.cc)");
    }
  }
  // Vision and audio: whatever the file holds; blocks are counted until one is absent.
  for (KerasPart part : {KerasPart::kVision, KerasPart::kAudio}) {
    for (const auto& rule : rules) {
      if (rule.part == part && !has_block_index(rule) && store.find(rule.keras) != nullptr) add(rule, -1, nullptr);
    }
    for (int64_t block = 0;; ++block) {
      size_t found = 0;
      for (const auto& rule : rules) {
        if (rule.part != part || !has_block_index(rule)) continue;
        if (store.find(replace_all(rule.keras, "{i}", container_suffix(block))) == nullptr) continue;
        add(rule, block, nullptr);
        ++found;
      }
      if (found == 0) break;
    }
  }

  std::set<std::string> claimed;
  for (const auto& p : plan) {
    load_planned(store, p, source);
    claimed.insert(p.keras);
    if (!p.keras_second.empty()) claimed.insert(p.keras_second);
  }
  std::vector<std::string> unclaimed;
  for (const auto& [path, dataset] : store.datasets()) {
    if (!claimed.count(path)) unclaimed.push_back(path);
  }
  return unclaimed;
}

}  // namespace gemma4
