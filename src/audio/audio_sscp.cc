// Sub-sampling convolution projection (KerasHub Gemma4AudioSubSampleConvProjection, HF
// Gemma4AudioSubSampleConvProjection). Activations are kept channels-last [time][freq][channel], so
// each Conv2d is one matmul over im2col patches and the final flatten is already `freq * C + c`.
#include <gemma4/error.h>

#include <algorithm>
#include <cmath>

#include "audio/audio_blocks.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

// One Conv2d (no bias) over (time, freq) with zero padding, input rows of invalid frames zeroed first.
std::vector<float> conv2d(const AudioSscpConv& conv, const std::vector<float>& in, const std::vector<uint8_t>& mask,
                          int64_t time, int64_t freq, int64_t out_time, int64_t out_freq, ThreadPool* pool) {
  const int64_t c_in = conv.in_channels, kt = conv.kernel_time, kf = conv.kernel_freq;
  const int64_t pad_t = conv.pad_time, pad_f = conv.pad_freq;
  const int64_t patch = c_in * kt * kf;
  std::vector<float> out(static_cast<size_t>(out_time * out_freq * conv.out_channels));
  // im2col a few output time rows at a time, so the patch matrix stays small for 30 s clips.
  const int64_t block = 16;
  std::vector<float> patches;
  for (int64_t t0 = 0; t0 < out_time; t0 += block) {
    const int64_t t1 = std::min(out_time, t0 + block);
    // Patch element order matches the weight's [in_channel][kt][kf].
    patches.assign(static_cast<size_t>((t1 - t0) * out_freq * patch), 0.0f);
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t f = 0; f < out_freq; ++f) {
        float* row = patches.data() + ((t - t0) * out_freq + f) * patch;
        for (int64_t i = 0; i < kt; ++i) {
          const int64_t src_t = t * conv.stride_time + i - pad_t;
          if (src_t < 0 || src_t >= time || !mask[src_t]) continue;
          for (int64_t j = 0; j < kf; ++j) {
            const int64_t src_f = f * conv.stride_freq + j - pad_f;
            if (src_f < 0 || src_f >= freq) continue;
            const float* src = in.data() + (src_t * freq + src_f) * c_in;
            for (int64_t c = 0; c < c_in; ++c) row[(c * kt + i) * kf + j] = src[c];
          }
        }
      }
    }
    kernels::matmul(patches.data(), (t1 - t0) * out_freq, conv.kernel, out.data() + t0 * out_freq * conv.out_channels,
                    pool);
  }
  return out;
}

// LayerNorm over channels (mean-subtracting, scale only), then ReLU.
void channel_norm_relu(std::vector<float>& x, int64_t channels, const std::vector<float>& scale, float eps) {
  for (size_t r = 0; r < x.size(); r += static_cast<size_t>(channels)) {
    float* v = x.data() + r;
    double mean = 0;
    for (int64_t c = 0; c < channels; ++c) mean += v[c];
    mean /= static_cast<double>(channels);
    double var = 0;
    for (int64_t c = 0; c < channels; ++c) var += (v[c] - mean) * (v[c] - mean);
    var /= static_cast<double>(channels);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (int64_t c = 0; c < channels; ++c) {
      const float y = (v[c] - static_cast<float>(mean)) * inv * scale[c];
      v[c] = y > 0.0f ? y : 0.0f;
    }
  }
}

}  // namespace

void audio_subsample_clip(const AudioConfig& config, const AudioWeights& weights, const float* mel,
                          const uint8_t* mask, int64_t frames, std::vector<float>& out,
                          std::vector<uint8_t>& out_mask, ThreadPool* pool) {
  int64_t time = frames, freq = config.input_feat_size, channels = 1;
  std::vector<float> x(mel, mel + time * freq);
  std::vector<uint8_t> m(mask, mask + time);
  for (const AudioSscpConv& conv : weights.sscp) {
    const int64_t out_time = conv.out_time(time), out_freq = conv.out_freq(freq);
    if (out_time <= 0) throw Error("audio encoder: " + std::to_string(frames) + " frames are too few to sub-sample");
    x = conv2d(conv, x, m, time, freq, out_time, out_freq, pool);
    std::vector<uint8_t> strided(static_cast<size_t>(out_time));
    for (int64_t t = 0; t < out_time; ++t) strided[t] = t * conv.stride_time < time ? m[t * conv.stride_time] : 0;
    m = std::move(strided);
    channels = conv.out_channels;
    channel_norm_relu(x, channels, conv.norm, config.sscp_norm_eps);
    time = out_time;
    freq = out_freq;
  }
  if (freq * channels != weights.input_proj.shape[1]) {
    throw Error("audio encoder: sub-sampled width " + std::to_string(freq * channels) + " does not match input_proj's " +
                std::to_string(weights.input_proj.shape[1]));
  }
  out.assign(static_cast<size_t>(time * config.hidden_size), 0.0f);
  kernels::matmul(x.data(), time, weights.input_proj, out.data(), pool);
  out_mask = std::move(m);
}

}  // namespace gemma4
