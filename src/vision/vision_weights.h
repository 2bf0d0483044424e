// The vision encoder's tensors, bound by canonical name and checked against the config.
// Matrices stay views of the source (any stored dtype, multiplied by kernels::matmul); the small
// vectors (norm weights, clip bounds, standardize) are decoded to float32 once.
#pragma once

#include <gemma4/vision.h>

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "schema/weight_source.h"

namespace gemma4 {

// A Gemma4ClippableEinsumDense: y = clip(clip(x, in) . W^T, out) when clipping is on.
struct ClippedLinear {
  TensorView weight;  // [out, in]
  bool clipped = false;
  float input_min = 0, input_max = 0, output_min = 0, output_max = 0;
};

struct VisionBlockWeights {
  std::vector<float> input_norm, post_attention_norm, pre_ffw_norm, post_ffw_norm;  // [hidden]
  std::vector<float> q_norm, k_norm;                                                // [head_dim]
  ClippedLinear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
};

struct VisionWeights {
  TensorView input_proj;      // [hidden, 3 p^2]
  TensorView position_table;  // [2, table_size, hidden]: [0] = x, [1] = y
  std::vector<VisionBlockWeights> blocks;
  std::vector<float> std_bias, std_scale;  // [hidden], only with standardize
  TensorView output_projection;            // [output_dim, hidden]
};

VisionWeights bind_vision_weights(const WeightSource& source, const VisionConfig& config);

}  // namespace gemma4
