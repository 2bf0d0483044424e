// Gemma 4 encoders in GGUF: llama.cpp's projector files and ollama's single files (formats/gguf_mmproj.h).
//
// Facts used (public sources): llama.cpp conversion/gemma.py (Gemma4VisionAudioModel: names, softplus of
// per_dim_scale, depthwise [C,1,K] -> [C,K], patch embedding [n_embd, p*p*3] -> [n_embd, 3, p, p], scalars as
// [1]), gguf-py/gguf/tensor_mapping.py and constants.py (v.* / a.* / mm.* names, clip.* keys), tools/mtmd/clip.cpp
// and models/gemma4{v,a}.cpp (which keys are read; chunk 12, context 13, rope theta 100, pool 3 by default;
// missing clip bounds mean no clipping); ollama convert/convert_gemma4.go (its names and gemma4.vision.* /
// gemma4.audio.* keys) and model/models/gemma4/*.go at 9db4bdbad^ (how ollama read them back).
#include "formats/gguf_mmproj.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "formats/gguf.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

enum class Layout { kLlamaCpp, kOllama };

// What the converter did to a tensor, undone when it is added under its canonical name.
enum class Transform {
  kNone,
  kPatchEmbedding,  // stored [n_embd, 3, p, p] (channel-major); ours is [n_embd, p*p*3], columns (row, col, channel)
  kDepthwise,       // stored [C, K]; ours is [C, 1, K] (same bytes)
};

// Settings Gemma 4's encoders have that neither layout stores: llama.cpp and ollama hard-code the released
// models' values. These optional keys (written by no converter, read only here) let a file say otherwise,
// e.g. the tiny test models.
const char* kChunkSizeKey = "gemma4cpp.audio.attention_chunk_size";
const char* kContextLeftKey = "gemma4cpp.audio.attention_context_left";

const char* kClipBounds[] = {"input_min", "input_max", "output_min", "output_max"};

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool is_encoder_tensor(const std::string& name) {
  return starts_with(name, "v.") || starts_with(name, "a.") || starts_with(name, "mm.");
}
std::string ne_string(const std::vector<int64_t>& ne) {
  std::string out = "{";
  for (size_t i = 0; i < ne.size(); ++i) out += (i ? ", " : "") + std::to_string(ne[i]);
  return out + "}";
}

class EncoderReader {
 public:
  EncoderReader(const gguf::GgufFile& file, Layout layout, Checkpoint& checkpoint, std::map<std::string, bool>& used)
      : file_(file), layout_(layout), checkpoint_(checkpoint), used_(used) {
    for (const auto& t : file_.tensors()) {
      if (is_encoder_tensor(t.name)) used_.emplace(t.name, false);
    }
  }

  Error fail(const std::string& what) const {
    return Error(std::string(layout_ == Layout::kLlamaCpp ? "mmproj file '" : "GGUF file '") + file_.path() +
                 "': " + what);
  }

  bool has_prefix(const std::string& prefix) const {
    return std::any_of(file_.tensors().begin(), file_.tensors().end(),
                       [&](const gguf::TensorInfo& t) { return starts_with(t.name, prefix); });
  }

  void read_vision();
  void read_audio();
  // Every v.* / a.* / mm.* tensor must have been bound (or explicitly tolerated).
  void check_all_used() const;

 private:
  std::string vision_key(const std::string& name) const {
    return (layout_ == Layout::kLlamaCpp ? "clip.vision." : "gemma4.vision.") + name;
  }
  std::string audio_key(const std::string& name) const {
    return (layout_ == Layout::kLlamaCpp ? "clip.audio." : "gemma4.audio.") + name;
  }
  int64_t positive(const std::string& key, int64_t limit = int64_t{1} << 24) const {
    const int64_t value = file_.get_int(key);
    if (value <= 0 || value > limit) {
      throw fail("metadata '" + key + "' is " + std::to_string(value) + ", expected a positive size up to " +
                 std::to_string(limit));
    }
    return value;
  }
  // An optional key that, when present, must agree with what the tensors say.
  void check_key(const std::string& key, int64_t derived, const std::string& from) const {
    if (auto value = file_.get_int_opt(key); value && *value != derived) {
      throw fail("metadata '" + key + "' is " + std::to_string(*value) + " but " + from + " gives " +
                 std::to_string(derived));
    }
  }

  const gguf::TensorInfo& require(const std::string& name, size_t dims, const std::string& what) const {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    if (info == nullptr) throw fail("missing tensor '" + name + "' (" + what + ")");
    if (info->ne.size() != dims) {
      throw fail("tensor '" + name + "' (" + what + ") has " + std::to_string(info->ne.size()) + " dimensions " +
                 ne_string(info->ne) + ", expected " + std::to_string(dims));
    }
    return *info;
  }

  bool any_clip_bound(const std::string& prefix) const {
    for (const auto& t : file_.tensors()) {
      if (!starts_with(t.name, prefix)) continue;
      for (const char* bound : kClipBounds) {
        if (ends_with(t.name, std::string(".") + bound)) return true;
      }
    }
    return false;
  }

  // Binds file tensor `name` as `canonical`, whose shape must be `shape` (NumPy order, as stored).
  void add(const std::string& name, const std::string& canonical, const Shape& shape,
           Transform transform = Transform::kNone);
  // "<base>.weight" as "<canonical>.linear.weight", plus the four clip bounds when `clipped`. A bound the file
  // lacks means "no clipping" on that side (llama.cpp's clip.cpp reads missing ones as +-FLT_MAX).
  void add_linear(const std::string& base, const std::string& canonical, const Shape& shape, bool clipped);
  void add_scalar(const std::string& name, const std::string& canonical, float missing_value);
  TensorView permuted_patch_embedding(const gguf::TensorInfo& info) const;

  const gguf::GgufFile& file_;
  Layout layout_;
  Checkpoint& checkpoint_;
  std::map<std::string, bool>& used_;
};

void EncoderReader::add(const std::string& name, const std::string& canonical, const Shape& shape,
                        Transform transform) {
  const gguf::TensorInfo* info = file_.find_tensor(name);
  if (info == nullptr) {
    throw fail("missing tensor '" + name + "' (" + canonical + ", expected shape " + shape_to_string(shape) + ")");
  }
  if (info->shape() != shape) {
    throw fail("tensor '" + name + "' (" + canonical + ") has shape " + shape_to_string(info->shape()) +
               " (GGUF ne " + ne_string(info->ne) + "), expected " + shape_to_string(shape));
  }
  TensorView view = file_.view(*info);
  if (transform == Transform::kDepthwise) view.shape = {shape[0], 1, shape[1]};
  if (transform == Transform::kPatchEmbedding) view = permuted_patch_embedding(*info);
  checkpoint_.weights->add(canonical, view, file_.path());
  used_[name] = true;
}

void EncoderReader::add_scalar(const std::string& name, const std::string& canonical, float missing_value) {
  const gguf::TensorInfo* info = file_.find_tensor(name);
  if (info == nullptr) {
    auto& buffer = checkpoint_.weights->new_buffer(sizeof(float));
    std::memcpy(buffer.data(), &missing_value, sizeof(float));
    checkpoint_.weights->add(canonical, TensorView{DType::F32, {}, buffer.data(), buffer.size()},
                             file_.path() + " (absent: no clipping)");
    return;
  }
  if (info->shape() != Shape{1} && !info->shape().empty()) {
    throw fail("tensor '" + name + "' (" + canonical + ") has shape " + shape_to_string(info->shape()) +
               ", expected a scalar stored as [1]");
  }
  checkpoint_.weights->add(canonical, file_.view(*info), file_.path());
  used_[name] = true;
}

void EncoderReader::add_linear(const std::string& base, const std::string& canonical, const Shape& shape,
                               bool clipped) {
  add(base + ".weight", canonical + ".linear.weight", shape);
  if (!clipped) return;
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (const char* bound : kClipBounds) {
    const bool is_min = std::strstr(bound, "min") != nullptr;
    add_scalar(base + "." + bound, canonical + "." + bound, is_min ? -inf : inf);
  }
}

// The converter reshaped [n_embd, p*p*3] (columns ordered row, column, channel) to [n_embd, p, p, 3] and
// permuted it to [n_embd, 3, p, p]; this is the inverse permutation, into a float32 buffer.
TensorView EncoderReader::permuted_patch_embedding(const gguf::TensorInfo& info) const {
  const TensorView stored = file_.view(info);
  const int64_t embd = info.ne[3], channels = info.ne[2], rows = info.ne[1], cols = info.ne[0];
  std::vector<float> values(static_cast<size_t>(stored.numel()));
  kernels::dequantize(stored.dtype, stored.data, stored.numel(), values.data());
  auto& buffer = checkpoint_.weights->new_buffer(values.size() * sizeof(float));
  float* out = reinterpret_cast<float*>(buffer.data());
  for (int64_t e = 0; e < embd; ++e) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t h = 0; h < rows; ++h) {
        for (int64_t w = 0; w < cols; ++w) {
          out[((e * rows + h) * cols + w) * channels + c] = values[((e * channels + c) * rows + h) * cols + w];
        }
      }
    }
  }
  return TensorView{DType::F32, {embd, channels * rows * cols}, buffer.data(), buffer.size()};
}

void EncoderReader::read_vision() {
  if (checkpoint_.vision) throw fail("the model already has a vision encoder; the file's would replace it");
  VisionConfig c;
  c.hidden_dim = positive(vision_key("embedding_length"));
  c.num_layers = positive(vision_key("block_count"), 4096);
  c.num_heads = positive(vision_key("attention.head_count"), 4096);
  c.intermediate_dim = positive(vision_key("feed_forward_length"));
  c.patch_size = positive(vision_key("patch_size"), 4096);
  c.pool_size = file_.get_int_opt(vision_key("projector.scale_factor")).value_or(3);  // both readers' default
  if (c.pool_size <= 0 || c.pool_size > 4096) {
    throw fail("metadata '" + vision_key("projector.scale_factor") + "' is " + std::to_string(c.pool_size));
  }
  c.norm_epsilon = static_cast<float>(file_.get_float_opt(vision_key("attention.layer_norm_epsilon")).value_or(1e-6));
  c.rope_wavelength = 100.0;  // not stored; clip.cpp and ollama hard-code Gemma 4's 100
  if (auto channels = file_.get_int_opt(vision_key("num_channels")); channels && *channels != 3) {
    throw fail("metadata '" + vision_key("num_channels") + "' is " + std::to_string(*channels) + ", expected 3 (RGB)");
  }
  // Our image converter feeds pixels in [0, 1] (Gemma 4's processor does not normalize): a file asking for
  // another normalization would be read differently by llama.cpp.
  for (const auto& [key, identity] : {std::pair{"image_mean", 0.0}, std::pair{"image_std", 1.0}}) {
    if (const gguf::Value* v = file_.find(vision_key(key)); v && v->is_array()) {
      for (double x : v->floats) {
        if (x != identity) {
          throw fail("metadata '" + vision_key(key) + "' is not all " + std::to_string(identity) +
                     "; Gemma 4 images are not normalized and other values are not supported");
        }
      }
    }
  }

  // Head size and KV heads are not stored by the gemma4 converter: the q / k rows give them.
  const gguf::TensorInfo& q = require("v.blk.0.attn_q.weight", 2, "vision layer 0 query projection");
  const int64_t q_rows = q.ne[1];
  if (q.ne[0] != c.hidden_dim || q_rows % c.num_heads != 0) {
    throw fail("tensor 'v.blk.0.attn_q.weight' has GGUF ne " + ne_string(q.ne) + ", expected {" +
               std::to_string(c.hidden_dim) + ", a multiple of head_count " + std::to_string(c.num_heads) + "}");
  }
  c.head_dim = q_rows / c.num_heads;
  check_key(vision_key("attention.head_dim"), c.head_dim, "tensor 'v.blk.0.attn_q.weight'");
  const gguf::TensorInfo& k = require("v.blk.0.attn_k.weight", 2, "vision layer 0 key projection");
  if (k.ne[1] % c.head_dim != 0 || k.ne[1] == 0) {
    throw fail("tensor 'v.blk.0.attn_k.weight' has " + std::to_string(k.ne[1]) + " rows, not a multiple of the head size " +
               std::to_string(c.head_dim));
  }
  c.num_key_value_heads = k.ne[1] / c.head_dim;
  check_key(vision_key("attention.head_count_kv"), c.num_key_value_heads, "tensor 'v.blk.0.attn_k.weight'");
  const gguf::TensorInfo& table = require("v.position_embd.weight", 3, "position embedding tables");
  c.position_table_size = table.ne[1];
  c.standardize = file_.find_tensor("v.std_bias") != nullptr || file_.find_tensor("v.std_scale") != nullptr;
  c.use_clipped_linears = any_clip_bound("v.blk.");
  c.output_dim = checkpoint_.config.hidden_dim;
  check_key(vision_key("projection_dim"), c.output_dim, "the text model's embedding_length");

  const int64_t d = c.hidden_dim, p = c.patch_size;
  add("v.patch_embd.weight", "vision_tower.patch_embedder.input_proj.weight", {d, 3, p, p}, Transform::kPatchEmbedding);
  add("v.position_embd.weight", "vision_tower.patch_embedder.position_embedding_table", {2, c.position_table_size, d});
  if (c.standardize) {
    add("v.std_bias", "vision_tower.std_bias", {d});
    add("v.std_scale", "vision_tower.std_scale", {d});
  }
  add("mm.input_projection.weight", "embed_vision.embedding_projection.weight", {c.output_dim, d});
  const int64_t q_width = c.num_heads * c.head_dim, kv_width = c.num_key_value_heads * c.head_dim;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string g = "v.blk." + std::to_string(l) + ".";
    const std::string o = "vision_tower.encoder.layers." + std::to_string(l) + ".";
    add(g + "ln1.weight", o + "input_layernorm.weight", {d});
    add(g + "attn_post_norm.weight", o + "post_attention_layernorm.weight", {d});
    add(g + "ln2.weight", o + "pre_feedforward_layernorm.weight", {d});
    add(g + "ffn_post_norm.weight", o + "post_feedforward_layernorm.weight", {d});
    add(g + "attn_q_norm.weight", o + "self_attn.q_norm.weight", {c.head_dim});
    add(g + "attn_k_norm.weight", o + "self_attn.k_norm.weight", {c.head_dim});
    const bool clip = c.use_clipped_linears;
    add_linear(g + "attn_q", o + "self_attn.q_proj", {q_width, d}, clip);
    add_linear(g + "attn_k", o + "self_attn.k_proj", {kv_width, d}, clip);
    add_linear(g + "attn_v", o + "self_attn.v_proj", {kv_width, d}, clip);
    add_linear(g + "attn_out", o + "self_attn.o_proj", {d, q_width}, clip);
    add_linear(g + "ffn_gate", o + "mlp.gate_proj", {c.intermediate_dim, d}, clip);
    add_linear(g + "ffn_up", o + "mlp.up_proj", {c.intermediate_dim, d}, clip);
    add_linear(g + "ffn_down", o + "mlp.down_proj", {d, c.intermediate_dim}, clip);
    // A per-layer output scale (HF layer_scalar) our encoder does not have: accepted only as a no-op.
    if (const gguf::TensorInfo* scale = file_.find_tensor(g + "out_scale.weight")) {
      std::vector<float> values(static_cast<size_t>(file_.view(*scale).numel()));
      kernels::dequantize(scale->dtype, file_.view(*scale).data, static_cast<int64_t>(values.size()), values.data());
      for (float v : values) {
        if (v != 1.0f) throw fail("tensor '" + scale->name + "' scales a vision layer's output; only 1.0 is supported");
      }
      used_[scale->name] = true;
    }
  }
  // ollama's packed copy of the clip bounds (layer x {q,k,v,out,gate,up,down} x 4, then the projector's 4):
  // the same values as the per-linear scalars it also writes, which are the ones read above.
  if (layout_ == Layout::kOllama && file_.find_tensor("v.clamp_data") != nullptr) {
    if (c.use_clipped_linears) used_["v.clamp_data"] = true;
  }
  checkpoint_.vision = c;
  // A GGUF text model does not record HF's use_bidirectional_attention == "vision". llama.cpp's mtmd
  // (mtmd_decode_use_non_causal) decides by width: causal for E2B / E4B (1536, 2560), bidirectional within
  // images otherwise, which is what the released configs say. The override key can still change it.
  if (layout_ == Layout::kOllama || checkpoint_.format == "gguf") {
    const int64_t width = checkpoint_.config.hidden_dim;
    checkpoint_.config.use_vision_bidirectional_attention = width != 1536 && width != 2560;
  }
}

void EncoderReader::read_audio() {
  if (checkpoint_.audio) throw fail("the model already has an audio encoder; the file's would replace it");
  const bool llama = layout_ == Layout::kLlamaCpp;
  AudioConfig c;
  c.hidden_size = positive(audio_key("embedding_length"));
  c.num_heads = positive(audio_key("attention.head_count"), 4096);
  c.num_layers = positive(audio_key("block_count"), 4096);
  if (c.hidden_size % c.num_heads != 0) {
    throw fail("audio embedding_length " + std::to_string(c.hidden_size) + " is not a multiple of head_count " +
               std::to_string(c.num_heads));
  }
  check_key(audio_key("feed_forward_length"), 4 * c.hidden_size, "Gemma 4's conformer (4 x embedding_length)");
  // Mel bins: llama.cpp stores them; ollama's converter does not, and its reader defaults to 128.
  c.input_feat_size = llama ? positive(audio_key("num_mel_bins"), 4096)
                            : file_.get_int_opt(audio_key("num_mel_bins")).value_or(128);
  // The norms' epsilon: clip.cpp ignores the stored value (an early converter wrote a wrong one) and uses
  // 1e-6; ollama's converter writes the model's rms_norm_eps.
  c.norm_eps = llama ? 1e-6f : static_cast<float>(file_.get_float_opt(audio_key("attention.layer_norm_epsilon")).value_or(1e-6));
  c.chunk_size = file_.get_int_opt(kChunkSizeKey).value_or(12);
  c.context_left = file_.get_int_opt(kContextLeftKey).value_or(13);
  if (c.chunk_size <= 0 || c.chunk_size > 4096 || c.context_left < 1 || c.context_left > 4096) {
    throw fail("metadata '" + std::string(kChunkSizeKey) + "' / '" + kContextLeftKey + "' out of range");
  }

  // Sub-sampling convolutions: as many a.conv1d.{i} as the file has, stride 2 x 2 (fixed in both readers).
  c.sscp_conv_channels.clear();
  c.sscp_kernel_sizes.clear();
  c.sscp_stride_sizes.clear();
  int64_t channels = 1;
  for (int i = 0; file_.find_tensor("a.conv1d." + std::to_string(i) + ".weight") != nullptr; ++i) {
    const std::string name = "a.conv1d." + std::to_string(i) + ".weight";
    const gguf::TensorInfo& conv = require(name, 4, "sub-sampling convolution " + std::to_string(i));
    if (conv.ne[2] != channels) {
      throw fail("tensor '" + name + "' has " + std::to_string(conv.ne[2]) + " input channels, expected " +
                 std::to_string(channels));
    }
    channels = conv.ne[3];
    c.sscp_conv_channels.push_back(channels);
    c.sscp_kernel_sizes.push_back({conv.ne[1], conv.ne[0]});
    c.sscp_stride_sizes.push_back({2, 2});
  }
  if (c.sscp_conv_channels.empty()) throw fail("missing tensor 'a.conv1d.0.weight' (first sub-sampling convolution)");
  const gguf::TensorInfo& dw = require("a.blk.0.conv_dw.weight", 2, "audio layer 0 depthwise convolution");
  c.conv_kernel_size = dw.ne[0];
  if (!llama) check_key(audio_key("conv_kernel_size"), c.conv_kernel_size, "tensor 'a.blk.0.conv_dw.weight'");
  const std::string out_proj = llama ? "a.pre_encode.out" : "mm.a.fc";
  const gguf::TensorInfo* out = file_.find_tensor(out_proj + ".weight");
  c.output_proj_dims = out != nullptr && out->ne.size() == 2 ? out->ne[1] : 0;
  c.output_dim = checkpoint_.config.hidden_dim;
  check_key(audio_key("projection_dim"), c.output_dim, "the text model's embedding_length");
  c.use_clipped_linears = any_clip_bound("a.blk.");

  const int64_t d = c.hidden_size;
  int64_t in_channels = 1, freq = c.input_feat_size;
  for (size_t i = 0; i < c.sscp_conv_channels.size(); ++i) {
    const std::string g = "a.conv1d." + std::to_string(i);
    const std::string o = "audio_tower.subsample_conv_projection.layer" + std::to_string(i);
    const int64_t kt = c.sscp_kernel_sizes[i][0], kf = c.sscp_kernel_sizes[i][1];
    add(g + ".weight", o + ".conv.weight", {c.sscp_conv_channels[i], in_channels, kt, kf});
    add(g + ".norm.weight", o + ".norm.weight", {c.sscp_conv_channels[i]});
    in_channels = c.sscp_conv_channels[i];
    freq = (freq + 2 - kf) / 2 + 1;  // padding 1, stride 2 (AudioSscpConv::out_freq)
    if (freq <= 0) throw fail("num_mel_bins " + std::to_string(c.input_feat_size) + " is too small for the convolutions");
  }
  add(llama ? "a.input_projection.weight" : "a.pre_encode.out.weight",
      "audio_tower.subsample_conv_projection.input_proj_linear.weight", {d, freq * in_channels});
  int64_t width = d;
  if (c.output_proj_dims > 0) {
    add(out_proj + ".weight", "audio_tower.output_proj.weight", {c.output_proj_dims, d});
    add(out_proj + ".bias", "audio_tower.output_proj.bias", {c.output_proj_dims});
    width = c.output_proj_dims;
  }
  add("mm.a.input_projection.weight", "embed_audio.embedding_projection.weight", {c.output_dim, width});

  // The names that differ between the layouts (llama.cpp's tensor_mapping.py vs ollama's Replacements).
  const std::string pre_attn = llama ? "attn_pre_norm" : "ln1";
  const std::string post_attn = llama ? "attn_post_norm" : "ln2";
  const std::string block_out = llama ? "ln2" : "layer_pre_norm";
  const std::string rel_k = llama ? "attn_k_rel" : "linear_pos";
  const bool clip = c.use_clipped_linears;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string g = "a.blk." + std::to_string(l) + ".";
    const std::string o = "audio_tower.layers." + std::to_string(l) + ".";
    for (const auto& [suffix, ffw] : {std::pair{"", "feed_forward1."}, std::pair{"_1", "feed_forward2."}}) {
      add(g + "ffn_norm" + suffix + ".weight", o + ffw + "pre_layer_norm.weight", {d});
      add(g + "ffn_post_norm" + suffix + ".weight", o + ffw + "post_layer_norm.weight", {d});
      add_linear(g + "ffn_up" + suffix, o + ffw + "ffw_layer_1", {4 * d, d}, clip);
      add_linear(g + "ffn_down" + suffix, o + ffw + "ffw_layer_2", {d, 4 * d}, clip);
    }
    add_linear(g + "attn_q", o + "self_attn.q_proj", {d, d}, clip);
    add_linear(g + "attn_k", o + "self_attn.k_proj", {d, d}, clip);
    add_linear(g + "attn_v", o + "self_attn.v_proj", {d, d}, clip);
    add_linear(g + "attn_out", o + "self_attn.post", {d, d}, clip);
    add(g + rel_k + ".weight", o + "self_attn.relative_k_proj.weight", {d, d});
    // Stored as softplus(per_dim_scale): bound under the name that says so (audio_weights.cc uses it as is).
    add(g + "per_dim_scale.weight", o + "self_attn.per_dim_scale_softplus", {c.head_dim()});
    add(g + "conv_norm.weight", o + "lconv1d.pre_layer_norm.weight", {d});
    add(g + "norm_conv.weight", o + "lconv1d.conv_norm.weight", {d});
    add_linear(g + "conv_pw1", o + "lconv1d.linear_start", {2 * d, d}, clip);
    add_linear(g + "conv_pw2", o + "lconv1d.linear_end", {d, d}, clip);
    add(g + "conv_dw.weight", o + "lconv1d.depthwise_conv1d.weight", {d, c.conv_kernel_size}, Transform::kDepthwise);
    add(g + pre_attn + ".weight", o + "norm_pre_attn.weight", {d});
    add(g + post_attn + ".weight", o + "norm_post_attn.weight", {d});
    add(g + block_out + ".weight", o + "norm_out.weight", {d});
  }
  checkpoint_.audio = c;
}

void EncoderReader::check_all_used() const {
  for (const auto& [name, bound] : used_) {
    if (bound || !is_encoder_tensor(name)) continue;
    const gguf::TensorInfo* info = file_.find_tensor(name);
    throw fail("unexpected tensor '" + name + "' (GGUF ne " + ne_string(info ? info->ne : std::vector<int64_t>{}) +
               "): not part of Gemma 4's vision or audio encoder as this reader knows it");
  }
}

std::string projector_type(const gguf::GgufFile& file, const char* modality_key) {
  if (auto type = file.get_string_opt(modality_key)) return *type;
  return file.get_string_opt("clip.projector_type").value_or("");
}

}  // namespace

void add_mmproj_encoders(const std::string& path, Checkpoint& checkpoint) {
  auto file = gguf::GgufFile::open(path);
  auto fail = [&](const std::string& what) { return Error("mmproj file '" + path + "': " + what); };
  const std::string arch = file->get_string_opt("general.architecture").value_or("");
  if (arch != "clip") {
    throw fail("general.architecture is '" + arch + "', expected 'clip' (a llama.cpp projector file)");
  }
  const bool has_vision = file->get_int_opt("clip.has_vision_encoder").value_or(0) != 0;
  const bool has_audio = file->get_int_opt("clip.has_audio_encoder").value_or(0) != 0;
  if (!has_vision && !has_audio) throw fail("clip.has_vision_encoder and clip.has_audio_encoder are both false or missing");
  if (checkpoint.weights == nullptr) throw fail("the model has no weights to add the encoders to");
  std::map<std::string, bool> used;
  EncoderReader reader(*file, Layout::kLlamaCpp, checkpoint, used);
  if (has_vision) {
    const std::string type = projector_type(*file, "clip.vision.projector_type");
    if (type != "gemma4v") {
      throw fail("vision projector type is '" + type + "', expected 'gemma4v' (Gemma 4's vision encoder)");
    }
    reader.read_vision();
  }
  if (has_audio) {
    const std::string type = projector_type(*file, "clip.audio.projector_type");
    if (type != "gemma4a") {
      throw fail("audio projector type is '" + type + "', expected 'gemma4a' (Gemma 4's audio encoder)");
    }
    reader.read_audio();
  }
  reader.check_all_used();
  checkpoint.weights->keep_alive(file);
}

bool has_bundled_encoder_tensors(const gguf::GgufFile& file) {
  return std::any_of(file.tensors().begin(), file.tensors().end(),
                     [](const gguf::TensorInfo& t) { return is_encoder_tensor(t.name); });
}

void add_bundled_encoders(const gguf::GgufFile& file, Checkpoint& checkpoint, std::map<std::string, bool>& used) {
  EncoderReader reader(file, Layout::kOllama, checkpoint, used);
  if (reader.has_prefix("v.")) reader.read_vision();
  if (reader.has_prefix("a.")) reader.read_audio();
  reader.check_all_used();
}

std::vector<std::string> mmproj_files_beside(const std::string& model_file) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  const fs::path folder = fs::path(model_file).parent_path().empty() ? fs::path(".") : fs::path(model_file).parent_path();
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    std::string name = entry.path().filename().string();
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (starts_with(lower, "mmproj") && ends_with(lower, ".gguf") && entry.is_regular_file(error)) {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace gemma4
