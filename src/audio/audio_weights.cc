#include "audio/audio_weights.h"

#include <gemma4/error.h>

#include <limits>

#include "schema/weight_source.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

class Binder {
 public:
  Binder(const WeightSource& weights, const AudioConfig& config) : weights_(weights), config_(config) {}

  const TensorView& tensor(const std::string& name, const Shape& expected) const {
    const SourceTensor* t = weights_.find(name);
    if (t == nullptr) throw Error(weights_.description + ": audio encoder tensor '" + name + "' is missing");
    if (t->view.shape != expected) {
      throw Error(t->origin + ": audio encoder tensor '" + name + "' has shape " + shape_to_string(t->view.shape) +
                  ", expected " + shape_to_string(expected) + " from the audio config");
    }
    return t->view;
  }

  std::vector<float> floats(const std::string& name, const Shape& expected) const {
    const TensorView& view = tensor(name, expected);
    std::vector<float> out(static_cast<size_t>(view.numel()));
    kernels::dequantize(view.dtype, view.data, view.numel(), out.data());
    return out;
  }

  float scalar(const std::string& name) const {
    const SourceTensor* t = weights_.find(name);
    if (t == nullptr) {
      throw Error(weights_.description + ": audio clip bound '" + name +
                  "' is missing (the config says use_clipped_linears)");
    }
    if (t->view.numel() != 1) {
      throw Error(t->origin + ": audio clip bound '" + name + "' has shape " + shape_to_string(t->view.shape) +
                  ", expected a scalar");
    }
    float value = 0;
    kernels::dequantize(t->view.dtype, t->view.data, 1, &value);
    return value;
  }

  // "<prefix>.linear.weight" plus, when clipping, "<prefix>.{input,output}_{min,max}".
  ClippedLinear linear(const std::string& prefix, int64_t out, int64_t in) const {
    constexpr float inf = std::numeric_limits<float>::infinity();
    ClippedLinear l{tensor(prefix + ".linear.weight", {out, in}), -inf, inf, -inf, inf};
    if (config_.use_clipped_linears) {
      l.input_min = scalar(prefix + ".input_min");
      l.input_max = scalar(prefix + ".input_max");
      l.output_min = scalar(prefix + ".output_min");
      l.output_max = scalar(prefix + ".output_max");
    }
    return l;
  }

 private:
  const WeightSource& weights_;
  const AudioConfig& config_;
};

void check_config(const AudioConfig& c) {
  auto fail = [](const std::string& what) { throw Error("audio config: " + what); };
  if (c.hidden_size <= 0 || c.num_heads <= 0 || c.hidden_size % c.num_heads != 0) {
    fail("hidden_size " + std::to_string(c.hidden_size) + " must be a positive multiple of num_heads " +
         std::to_string(c.num_heads));
  }
  if (c.hidden_size % 2 != 0) fail("hidden_size must be even (sinusoid halves)");
  if (c.sscp_conv_channels.empty() || c.sscp_kernel_sizes.size() != c.sscp_conv_channels.size() ||
      c.sscp_stride_sizes.size() != c.sscp_conv_channels.size()) {
    fail("sscp_conv_channels, sscp_kernel_sizes and sscp_stride_sizes must have the same, nonzero length");
  }
  for (size_t i = 0; i < c.sscp_conv_channels.size(); ++i) {
    if (c.sscp_kernel_sizes[i].size() != 2 || c.sscp_stride_sizes[i].size() != 2) {
      fail("sscp kernel and stride sizes must be (time, freq) pairs");
    }
  }
  if (c.chunk_size <= 0) fail("chunk_size must be positive, got " + std::to_string(c.chunk_size));
  if (c.context_right != 0) {
    fail("context_right " + std::to_string(c.context_right) + " is not supported (every Gemma 4 model uses 0)");
  }
  if (c.reduction_factor < 1) fail("reduction_factor must be >= 1");
  if (c.output_dim <= 0) fail("output_dim (the text hidden size) is not set");
}

}  // namespace

AudioWeights bind_audio_weights(const WeightSource& weights, const AudioConfig& c) {
  check_config(c);
  const Binder b(weights, c);
  const int64_t d = c.hidden_size;
  AudioWeights w;

  const std::string sscp = "audio_tower.subsample_conv_projection.";
  int64_t channels = 1, freq = c.input_feat_size;
  for (size_t i = 0; i < c.sscp_conv_channels.size(); ++i) {
    AudioSscpConv conv;
    conv.in_channels = channels;
    conv.out_channels = c.sscp_conv_channels[i];
    conv.kernel_time = c.sscp_kernel_sizes[i][0];
    conv.kernel_freq = c.sscp_kernel_sizes[i][1];
    conv.stride_time = c.sscp_stride_sizes[i][0];
    conv.stride_freq = c.sscp_stride_sizes[i][1];
    conv.pad_time = c.sscp_kernel_sizes[0][0] / 2;
    conv.pad_freq = 1;
    const std::string layer = sscp + "layer" + std::to_string(i);
    conv.kernel = b.tensor(layer + ".conv.weight", {conv.out_channels, channels, conv.kernel_time, conv.kernel_freq});
    conv.kernel.shape = {conv.out_channels, channels * conv.kernel_time * conv.kernel_freq};
    conv.norm = b.floats(layer + ".norm.weight", {conv.out_channels});
    channels = c.sscp_conv_channels[i];
    freq = conv.out_freq(freq);
    if (freq <= 0) throw Error("audio config: input_feat_size " + std::to_string(c.input_feat_size) + " is too small for the sub-sampling convolutions");
    w.sscp.push_back(std::move(conv));
  }
  w.input_proj = b.tensor(sscp + "input_proj_linear.weight", {d, freq * channels});

  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "audio_tower.layers." + std::to_string(i) + ".";
    AudioLayer l;
    for (int which = 1; which <= 2; ++which) {
      const std::string f = p + "feed_forward" + std::to_string(which) + ".";
      AudioFeedForward& ffw = which == 1 ? l.ffw_start : l.ffw_end;
      ffw.pre_norm = b.floats(f + "pre_layer_norm.weight", {d});
      ffw.post_norm = b.floats(f + "post_layer_norm.weight", {d});
      ffw.up = b.linear(f + "ffw_layer_1", 4 * d, d);
      ffw.down = b.linear(f + "ffw_layer_2", d, 4 * d);
    }
    const std::string a = p + "self_attn.";
    l.attention.q = b.linear(a + "q_proj", d, d);
    l.attention.k = b.linear(a + "k_proj", d, d);
    l.attention.v = b.linear(a + "v_proj", d, d);
    l.attention.post = b.linear(a + "post", d, d);
    l.attention.relative_k_proj = b.tensor(a + "relative_k_proj.weight", {d, d});
    // Checkpoints hold the raw parameter; GGUF files hold softplus of it (llama.cpp's and ollama's converters
    // apply it), which formats/gguf_mmproj.cc binds as "per_dim_scale_softplus".
    if (weights.contains(a + "per_dim_scale_softplus")) {
      l.attention.per_dim_scale_softplus = b.floats(a + "per_dim_scale_softplus", {c.head_dim()});
    } else {
      l.attention.per_dim_scale_softplus = b.floats(a + "per_dim_scale", {c.head_dim()});
      for (float& v : l.attention.per_dim_scale_softplus) v = audio_softplus(v);
    }
    const std::string lc = p + "lconv1d.";
    l.lconv.pre_norm = b.floats(lc + "pre_layer_norm.weight", {d});
    l.lconv.conv_norm = b.floats(lc + "conv_norm.weight", {d});
    l.lconv.start = b.linear(lc + "linear_start", 2 * d, d);
    l.lconv.end = b.linear(lc + "linear_end", d, d);
    l.lconv.depthwise = b.floats(lc + "depthwise_conv1d.weight", {d, 1, c.conv_kernel_size});
    l.norm_pre_attn = b.floats(p + "norm_pre_attn.weight", {d});
    l.norm_post_attn = b.floats(p + "norm_post_attn.weight", {d});
    l.norm_out = b.floats(p + "norm_out.weight", {d});
    w.layers.push_back(std::move(l));
  }

  int64_t width = d;
  if (c.output_proj_dims > 0) {
    w.output_proj = b.tensor("audio_tower.output_proj.weight", {c.output_proj_dims, d});
    w.output_proj_bias = b.floats("audio_tower.output_proj.bias", {c.output_proj_dims});
    width = c.output_proj_dims;
  }
  w.embed_projection = b.tensor("embed_audio.embedding_projection.weight", {c.output_dim, width});
  return w;
}

}  // namespace gemma4
