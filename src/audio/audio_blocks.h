// The pieces of the audio encoder's forward pass, one clip at a time (rows = time frames).
#pragma once

#include <cstdint>
#include <vector>

#include "audio/audio_weights.h"

namespace gemma4 {

class ThreadPool;

// y[rows, out] = clamp(clamp(x, in bounds) . W^T, out bounds).
void apply_clipped_linear(const ClippedLinear& linear, const float* x, int64_t rows, float* y, ThreadPool* pool);

// Sub-sampling convolutions + input_proj of one clip: mel [frames, mels] and mask [frames] ->
// out [frames', D], mask [frames'].
void audio_subsample_clip(const AudioConfig& config, const AudioWeights& weights, const float* mel,
                          const uint8_t* mask, int64_t frames, std::vector<float>& out,
                          std::vector<uint8_t>& out_mask, ThreadPool* pool);

// One conformer block, in place on x [frames, D].
void audio_conformer_layer(const AudioConfig& config, const AudioLayer& layer, std::vector<float>& x,
                           const std::vector<uint8_t>& mask, ThreadPool* pool);

}  // namespace gemma4
