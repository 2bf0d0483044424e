// Bidirectional self-attention of one image's patches with 2-D RoPE (KerasHub Gemma4VisionAttention
// after its q/k/v projections): scale 1.0, padding patches masked as keys (the bidirectional rule of
// model/attention_mask.h), through the shared core kernels/attention.h.
#pragma once

#include <cstdint>

namespace gemma4 {

class ThreadPool;

struct VisionAttentionShape {
  int64_t patches = 0;
  int64_t num_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
};

// Rotates every head of q [patches, heads, head_dim] in place: dims [0, head_dim/2) by the x position,
// [head_dim/2, head_dim) by the y position, each part in the rotate_half layout (pair j with j + part/2),
// inv_freq[j] = wavelength^(-2j/part). Positions are used raw (-1 for padding, as KerasHub does).
void apply_vision_rope(float* q, int64_t patches, int64_t heads, int64_t head_dim, const int32_t* positions,
                       double wavelength);

// out[query, head*head_dim + d] = sum over real keys of softmax(q . k) v; rows of padding queries are
// zero (the encoder discards them). valid[p] says whether patch p is real.
void vision_attention(const float* q, const float* k, const float* v, const uint8_t* valid,
                      const VisionAttentionShape& shape, float* out, ThreadPool& pool);

}  // namespace gemma4
