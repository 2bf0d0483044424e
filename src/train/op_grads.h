// Backward steps of the decoder's element-wise and row-wise ops (their forwards are kernels/ops.h and
// model/moe_routing.h). Convention: every backward ADDS into its gradient outputs (dx, dweight), so
// a value read by several ops collects all their contributions; inputs and outputs never alias.
#pragma once

#include <cstdint>

#include "model/moe_routing.h"

namespace gemma4::train {

// y = x r w with r = (mean(x^2) + eps)^-1/2 (Gemma 4 scales by w itself, not by 1 + w), per row of
// `dim`; weight null = no scale. dx += r (w dy) - x r^3 mean(x w dy); dweight += dy x r (if non-null).
void rms_norm_backward(const float* x, const float* weight, const float* dy, int64_t rows, int64_t dim, float eps,
                       float* dx, float* dweight);

// The transpose of kernels::rope_inplace: rotates the gradient of one head by -angle, in place.
void rope_backward_inplace(float* grad, int64_t head_dim, int64_t rotated_pairs, double position, double wavelength,
                           double scaling_factor);

// d/dx of kernels::gelu_tanh.
float gelu_tanh_derivative(float x);
// For out = gelu_tanh(a) * b: da += dout b gelu'(a), db += dout gelu(a) (either may be null).
void gelu_tanh_mul_backward(const float* a, const float* b, const float* dout, int64_t n, float* da, float* db);

// For y = cap tanh(x / cap), given y: grad *= 1 - (y / cap)^2, in place.
void soft_cap_backward_inplace(const float* y, float* grad, int64_t n, float cap);

// -log softmax(logits)[target] in double; dlogits (if non-null) gets softmax - onehot(target) (written).
double softmax_cross_entropy(const float* logits, int64_t n, int32_t target, float* dlogits);

// Backward of route_token for one token: `probabilities` [experts] is the full softmax, `choices` the
// kept experts with weight_k = p_k / sum_kept(p) * s_k. The selection itself is a constant; the
// gradient flows through the renormalised probabilities and the per-expert scales. Adds
// d(loss)/d(router logits) into dlogits [experts] and d/d(scale) into dscale (if non-null), given
// dweight [top_k] = d(loss)/d(weight_k).
void route_token_backward(const float* probabilities, int64_t experts, const ExpertChoice* choices, int64_t top_k,
                          const float* per_expert_scale, const float* dweight, float* dlogits, float* dscale);

}  // namespace gemma4::train
