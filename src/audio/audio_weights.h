// The audio encoder's tensors, bound by canonical name ("audio_tower.*", "embed_audio.*") and checked
// against the config. Matrices stay views of the checkpoint (any dtype kernels::matmul reads); small
// vectors (norm scales, conv taps, clip bounds) are decoded to float32 once.
#pragma once

#include <gemma4/audio.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "schema/weight_source.h"

namespace gemma4 {

// Gemma4ClippableDense / HF ClippableLinear: clamp the input, x.W^T, clamp the output (bounds are
// ±infinity when the checkpoint does not clip).
struct ClippedLinear {
  TensorView weight;  // [out, in]
  float input_min, input_max, output_min, output_max;
};

// softplus in float32 as the encoder applies it to per_dim_scale (the identity above 20, like torch's default).
inline float audio_softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

struct AudioSscpConv {
  TensorView kernel;        // [out_channels, in_channels * kt * kf], the Conv2d weight flattened
  std::vector<float> norm;  // [out_channels], LayerNorm scale
  int64_t in_channels, out_channels, kernel_time, kernel_freq, stride_time, stride_freq;
  // Zero padding on each side: KerasHub pads time by (first kernel's time size) / 2 and frequency by 1.
  int64_t pad_time, pad_freq;

  int64_t out_time(int64_t time) const { return (time + 2 * pad_time - kernel_time) / stride_time + 1; }
  int64_t out_freq(int64_t freq) const { return (freq + 2 * pad_freq - kernel_freq) / stride_freq + 1; }
};

struct AudioFeedForward {
  std::vector<float> pre_norm, post_norm;  // [D]
  ClippedLinear up, down;                  // D -> 4D -> D
};

struct AudioAttention {
  ClippedLinear q, k, v, post;
  TensorView relative_k_proj;         // [D, D], applied to the sinusoid of relative distances
  std::vector<float> per_dim_scale_softplus;  // [head_dim], softplus(per_dim_scale), as the query scale uses it
};

struct AudioLightConv {
  std::vector<float> pre_norm, conv_norm;  // [D]
  ClippedLinear start, end;                // D -> 2D (GLU), D -> D
  std::vector<float> depthwise;            // [D, kernel]
};

struct AudioLayer {
  AudioFeedForward ffw_start, ffw_end;
  AudioAttention attention;
  AudioLightConv lconv;
  std::vector<float> norm_pre_attn, norm_post_attn, norm_out;  // [D]
};

struct AudioWeights {
  std::vector<AudioSscpConv> sscp;
  TensorView input_proj;  // [D, freq' * channels]
  std::vector<AudioLayer> layers;
  TensorView output_proj;                // [output_proj_dims, D]; empty when output_proj_dims == 0
  std::vector<float> output_proj_bias;   // [output_proj_dims]
  TensorView embed_projection;           // [output_dim, output_proj_dims or D]
};

AudioWeights bind_audio_weights(const WeightSource& weights, const AudioConfig& config);


}  // namespace gemma4
