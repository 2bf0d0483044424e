// One conformer block of the audio encoder (KerasHub Gemma4AudioConformerBlock, HF Gemma4AudioLayer):
// macaron FFW, chunked local self-attention with relative positions, light conv, FFW, norm.
#include <algorithm>
#include <cmath>

#include "audio/audio_blocks.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/attention_mask.h"

namespace gemma4 {
namespace {

void clamp_inplace(float* x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], lo), hi);
}

// The "gradient clipping" clamp applied to activations at several places (±1e10 in practice).
void clip_activations(std::vector<float>& x, float bound) { clamp_inplace(x.data(), static_cast<int64_t>(x.size()), -bound, bound); }

float silu(float x) { return x / (1.0f + std::exp(-x)); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<float> rms_normed(const std::vector<float>& x, const std::vector<float>& scale, int64_t dim, float eps) {
  std::vector<float> y(x.size());
  kernels::rms_norm(x.data(), scale.data(), static_cast<int64_t>(x.size()) / dim, dim, eps, y.data());
  return y;
}

// x += residual_weight * post_norm(clip(down(silu(up(pre_norm(clip(x)))))))
void feed_forward(const AudioConfig& c, const AudioFeedForward& f, std::vector<float>& x, ThreadPool* pool) {
  const int64_t d = c.hidden_size, rows = static_cast<int64_t>(x.size()) / d;
  std::vector<float> h = x;
  clip_activations(h, c.gradient_clipping);
  h = rms_normed(h, f.pre_norm, d, c.norm_eps);
  std::vector<float> up(static_cast<size_t>(rows * 4 * d));
  apply_clipped_linear(f.up, h.data(), rows, up.data(), pool);
  for (float& v : up) v = silu(v);
  apply_clipped_linear(f.down, up.data(), rows, h.data(), pool);
  clip_activations(h, c.gradient_clipping);
  h = rms_normed(h, f.post_norm, d, c.norm_eps);
  for (size_t i = 0; i < x.size(); ++i) x[i] += c.residual_weight * h[i];
}

// relative_k_proj of the sinusoid of each distance q - k = 0 .. max_past: [max_past + 1, D].
std::vector<float> relative_keys(const AudioConfig& c, const AudioAttention& a, ThreadPool* pool) {
  const int64_t d = c.hidden_size, half = d / 2, distances = c.max_past_horizon() + 1;
  std::vector<float> sinusoid(static_cast<size_t>(distances * d));
  for (int64_t p = 0; p < distances; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const float inv_timescale = std::exp(-static_cast<float>(i) * std::log(10000.0f) / static_cast<float>(half - 1));
      const float angle = static_cast<float>(p) * inv_timescale;
      sinusoid[p * d + i] = std::sin(angle);
      sinusoid[p * d + half + i] = std::cos(angle);
    }
  }
  std::vector<float> keys(sinusoid.size());
  kernels::matmul(sinusoid.data(), distances, a.relative_k_proj, keys.data(), pool);
  return keys;
}

// Chunked local attention (the rule: ChunkedLocalMask in model/attention_mask.h): a query at t sees the
// valid frames t - (max_past - 1) .. t. Logits are q.k + q.R[q - k], soft-capped; a query with no valid
// key averages its block's whole context (zero vectors outside the clip), as the reference does.
std::vector<float> local_attention(const AudioConfig& c, const AudioAttention& a, const std::vector<float>& x,
                                   const std::vector<uint8_t>& mask, ThreadPool* pool) {
  const int64_t d = c.hidden_size, hd = c.head_dim(), heads = c.num_heads;
  const int64_t time = static_cast<int64_t>(x.size()) / d;
  const ChunkedLocalMask rule{c.chunk_size, c.max_past_horizon(), c.context_right};
  std::vector<float> q(x.size()), k(x.size()), v(x.size());
  apply_clipped_linear(a.q, x.data(), time, q.data(), pool);
  apply_clipped_linear(a.k, x.data(), time, k.data(), pool);
  apply_clipped_linear(a.v, x.data(), time, v.data(), pool);
  const float q_base = 1.0f / std::sqrt(static_cast<float>(hd)) / std::log(2.0f);
  std::vector<float> q_scale(static_cast<size_t>(hd));
  for (int64_t j = 0; j < hd; ++j) q_scale[j] = q_base * a.per_dim_scale_softplus[j];
  const float k_scale = std::log1p(std::exp(1.0f)) / std::log(2.0f);
  for (int64_t i = 0; i < time * d; ++i) {
    q[i] *= q_scale[i % hd];
    k[i] *= k_scale;
  }
  const std::vector<float> rel = relative_keys(c, a, pool);

  kernels::AttentionOptions options;
  options.head_dim = hd;
  options.scale = 1.0f;  // q and k carry their scales
  options.soft_cap = c.logit_cap;
  options.precision = kernels::AttentionOptions::Precision::kFloat;
  std::vector<float> out(x.size(), 0.0f), scores(static_cast<size_t>(rule.max_past));
  std::vector<int64_t> positions(static_cast<size_t>(rule.max_past));
  const kernels::AttentionScratch scratch{scores.data(), positions.data(), rule.max_past};
  const auto visible = [&](int64_t key) { return mask[key] != 0; };
  for (int64_t t = 0; t < time; ++t) {
    const KeyRange span = rule.visible(t);
    for (int64_t h = 0; h < heads; ++h) {
      const float* qh = q.data() + t * d + h * hd;
      float* oh = out.data() + t * d + h * hd;
      const kernels::KeyValueRows kv{k.data() + h * hd, v.data() + h * hd, d, 0};
      const auto relative = [&](int64_t key) { return kernels::dot(qh, rel.data() + (t - key) * d + h * hd, hd); };
      if (kernels::attend(qh, kv, span.first, span.last, visible, options, scratch, oh, relative) > 0) continue;
      // Every logit equals invalid_logit_value: softmax is uniform over all context slots.
      const KeyRange context = rule.block_context(t);
      const float weight = 1.0f / static_cast<float>(context.last - context.first + 1);
      for (int64_t key = std::max<int64_t>(context.first, 0); key <= std::min(context.last, time - 1); ++key) {
        kernels::axpy(weight, v.data() + key * d + h * hd, oh, hd);
      }
    }
  }
  std::vector<float> projected(x.size());
  apply_clipped_linear(a.post, out.data(), time, projected.data(), pool);
  return projected;
}

// x = lin_end(silu(conv_norm(clip(causal_depthwise(glu(lin_start(pre_norm(x)))))))) + x
void light_conv(const AudioConfig& c, const AudioLightConv& l, std::vector<float>& x, ThreadPool* pool) {
  const int64_t d = c.hidden_size, time = static_cast<int64_t>(x.size()) / d, kernel = c.conv_kernel_size;
  const std::vector<float> h = rms_normed(x, l.pre_norm, d, c.norm_eps);
  std::vector<float> both(static_cast<size_t>(time * 2 * d));
  apply_clipped_linear(l.start, h.data(), time, both.data(), pool);
  std::vector<float> glu(x.size());
  for (int64_t t = 0; t < time; ++t) {
    for (int64_t j = 0; j < d; ++j) glu[t * d + j] = both[t * 2 * d + j] * sigmoid(both[t * 2 * d + d + j]);
  }
  std::vector<float> conv(x.size(), 0.0f);  // causal: output t sees inputs t - (kernel - 1) .. t
  for (int64_t t = 0; t < time; ++t) {
    for (int64_t i = 0; i < kernel; ++i) {
      const int64_t src = t - (kernel - 1) + i;
      if (src < 0) continue;
      for (int64_t j = 0; j < d; ++j) conv[t * d + j] += glu[src * d + j] * l.depthwise[j * kernel + i];
    }
  }
  clip_activations(conv, c.gradient_clipping);
  conv = rms_normed(conv, l.conv_norm, d, c.norm_eps);
  for (float& value : conv) value = silu(value);
  std::vector<float> end(x.size());
  apply_clipped_linear(l.end, conv.data(), time, end.data(), pool);
  for (size_t i = 0; i < x.size(); ++i) x[i] += end[i];
}

}  // namespace

void apply_clipped_linear(const ClippedLinear& linear, const float* x, int64_t rows, float* y, ThreadPool* pool) {
  const int64_t in = linear.weight.shape[1], out = linear.weight.shape[0];
  std::vector<float> clipped(x, x + rows * in);
  clamp_inplace(clipped.data(), rows * in, linear.input_min, linear.input_max);
  kernels::matmul(clipped.data(), rows, linear.weight, y, pool);
  clamp_inplace(y, rows * out, linear.output_min, linear.output_max);
}

void audio_conformer_layer(const AudioConfig& c, const AudioLayer& layer, std::vector<float>& x,
                           const std::vector<uint8_t>& mask, ThreadPool* pool) {
  const int64_t d = c.hidden_size;
  feed_forward(c, layer.ffw_start, x, pool);

  std::vector<float> h = x;
  clip_activations(h, c.gradient_clipping);
  h = rms_normed(h, layer.norm_pre_attn, d, c.norm_eps);
  h = local_attention(c, layer.attention, h, mask, pool);
  clip_activations(h, c.gradient_clipping);
  h = rms_normed(h, layer.norm_post_attn, d, c.norm_eps);
  for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];

  // Padded frames are zeroed before the light conv (its residual is the zeroed stream too).
  for (size_t t = 0; t < mask.size(); ++t) {
    if (!mask[t]) std::fill(x.begin() + static_cast<int64_t>(t) * d, x.begin() + static_cast<int64_t>(t + 1) * d, 0.0f);
  }
  light_conv(c, layer.lconv, x, pool);
  feed_forward(c, layer.ffw_end, x, pool);
  clip_activations(x, c.gradient_clipping);
  x = rms_normed(x, layer.norm_out, d, c.norm_eps);
}

}  // namespace gemma4
