// AudioEncoder: sub-sampling convolutions, conformer blocks, output_proj, then the embedder
// (weightless RMSNorm + projection into the text space), clip by clip.
#include <gemma4/audio.h>
#include <gemma4/error.h>

#include <algorithm>

#include "audio/audio_blocks.h"
#include "audio/audio_weights.h"
#include "audio/make_audio_encoder.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace gemma4 {

AudioEncoder::AudioEncoder(const AudioConfig& config, std::unique_ptr<AudioWeights> weights)
    : config_(config), weights_(std::move(weights)) {}
AudioEncoder::~AudioEncoder() = default;

std::unique_ptr<AudioEncoder> make_audio_encoder(const WeightSource& weights, const AudioConfig& config) {
  return std::make_unique<AudioEncoder>(config, std::make_unique<AudioWeights>(bind_audio_weights(weights, config)));
}

int64_t AudioEncoder::subsampled_frames(int64_t frames) const {
  for (const AudioSscpConv& conv : weights_->sscp) frames = conv.out_time(frames);
  return frames;
}

int64_t AudioEncoder::tokens_per_clip(int64_t frames) const {
  return (subsampled_frames(frames) - 1) / config_.reduction_factor + 1;
}

AudioSubsampled AudioEncoder::subsample(const float* mel, const uint8_t* mel_mask, int64_t clips,
                                        int64_t frames) const {
  ThreadPool* pool = &ThreadPool::global();
  if (clips < 0 || frames <= 0) {
    throw Error("audio encoder: expected at least one frame per clip, got clips=" + std::to_string(clips) +
                " frames=" + std::to_string(frames));
  }
  AudioSubsampled out;
  out.clips = clips;
  out.frames = subsampled_frames(frames);
  out.dim = config_.hidden_size;
  out.values.reserve(static_cast<size_t>(clips * out.frames * out.dim));
  std::vector<float> values;
  std::vector<uint8_t> mask;
  for (int64_t clip = 0; clip < clips; ++clip) {
    audio_subsample_clip(config_, *weights_, mel + clip * frames * config_.input_feat_size, mel_mask + clip * frames,
                         frames, values, mask, pool);
    out.values.insert(out.values.end(), values.begin(), values.end());
    out.mask.insert(out.mask.end(), mask.begin(), mask.end());
  }
  return out;
}

AudioTokens AudioEncoder::encode(const float* mel, const uint8_t* mel_mask, int64_t clips, int64_t frames,
                                 AudioSubsampled* subsampled) const {
  ThreadPool* pool = &ThreadPool::global();
  AudioSubsampled sub = subsample(mel, mel_mask, clips, frames);
  const AudioConfig& c = config_;
  const int64_t d = c.hidden_size, time = sub.frames, stride = c.reduction_factor;
  const int64_t tokens = tokens_per_clip(frames);
  const int64_t width = c.output_proj_dims > 0 ? c.output_proj_dims : d;

  AudioTokens out;
  out.clips = clips;
  out.tokens = tokens;
  out.dim = c.output_dim;
  out.values.resize(static_cast<size_t>(clips * tokens * c.output_dim));
  for (int64_t clip = 0; clip < clips; ++clip) {
    std::vector<float> x(sub.values.begin() + clip * time * d, sub.values.begin() + (clip + 1) * time * d);
    const std::vector<uint8_t> mask(sub.mask.begin() + clip * time, sub.mask.begin() + (clip + 1) * time);
    for (const AudioLayer& layer : weights_->layers) audio_conformer_layer(c, layer, x, mask, pool);

    // Reduction factor: keep every stride-th frame (and its mask).
    std::vector<float> kept(static_cast<size_t>(tokens * d));
    for (int64_t t = 0; t < tokens; ++t) {
      std::copy_n(x.begin() + t * stride * d, d, kept.begin() + t * d);
      out.mask.push_back(mask[t * stride]);
    }
    std::vector<float> projected = kept;
    if (c.output_proj_dims > 0) {
      projected.assign(static_cast<size_t>(tokens * width), 0.0f);
      kernels::matmul(kept.data(), tokens, weights_->output_proj, projected.data(), pool);
      for (int64_t t = 0; t < tokens; ++t) {
        for (int64_t j = 0; j < width; ++j) projected[t * width + j] += weights_->output_proj_bias[j];
      }
    }
    // The embedder (HF embed_audio): weightless RMSNorm, then the projection into the text space.
    kernels::rms_norm(projected.data(), nullptr, tokens, width, c.norm_eps, projected.data());
    kernels::matmul(projected.data(), tokens, weights_->embed_projection,
                    out.values.data() + clip * tokens * c.output_dim, pool);
  }
  if (subsampled != nullptr) *subsampled = std::move(sub);
  return out;
}

}  // namespace gemma4
