#include "train/op_grads.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace gemma4::train {

void rms_norm_backward(const float* x, const float* weight, const float* dy, int64_t rows, int64_t dim, float eps,
                       float* dx, float* dweight) {
  for (int64_t row = 0; row < rows; ++row) {
    const float* in = x + row * dim;
    const float* g = dy + row * dim;
    float* out = dx + row * dim;
    double sum_squares = 0.0, projection = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      sum_squares += static_cast<double>(in[i]) * in[i];
      projection += static_cast<double>(in[i]) * g[i] * (weight ? weight[i] : 1.0f);
    }
    const double r = 1.0 / std::sqrt(sum_squares / static_cast<double>(dim) + eps);
    const float r_f = static_cast<float>(r);
    const float correction = static_cast<float>(r * r * r * projection / static_cast<double>(dim));
    for (int64_t i = 0; i < dim; ++i) {
      const float w = weight ? weight[i] : 1.0f;
      out[i] += r_f * w * g[i] - correction * in[i];
    }
    if (dweight) {
      for (int64_t i = 0; i < dim; ++i) dweight[i] += g[i] * in[i] * r_f;
    }
  }
}

void rope_backward_inplace(float* grad, int64_t head_dim, int64_t rotated_pairs, double position, double wavelength,
                           double scaling_factor) {
  const int64_t half = head_dim / 2;
  for (int64_t j = 0; j < rotated_pairs; ++j) {
    // The forward's float32 angle, so the rotation transposed is the exact one applied.
    const float inv_freq = static_cast<float>(std::pow(wavelength, -2.0 * static_cast<double>(j) / head_dim) / scaling_factor);
    const float angle = static_cast<float>(position) * inv_freq;
    const float c = std::cos(angle);
    const float s = std::sin(angle);
    const float ga = grad[j];
    const float gb = grad[j + half];
    grad[j] = ga * c + gb * s;
    grad[j + half] = gb * c - ga * s;
  }
}

float gelu_tanh_derivative(float x) {
  // gelu(x) = x sigma(2u), u = k (x + 0.044715 x^3): gelu' = sigma + x sigma (1 - sigma) 2 u'.
  constexpr double kSqrt2OverPi = 0.7978845608028654;
  const double xd = x;
  const double u = kSqrt2OverPi * (xd + 0.044715 * xd * xd * xd);
  const double du = kSqrt2OverPi * (1.0 + 3.0 * 0.044715 * xd * xd);
  const double sigma = 1.0 / (1.0 + std::exp(-2.0 * u));
  return static_cast<float>(sigma + xd * sigma * (1.0 - sigma) * 2.0 * du);
}

void gelu_tanh_mul_backward(const float* a, const float* b, const float* dout, int64_t n, float* da, float* db) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    if (dout[i] == 0.0f) continue;
    if (da) da[i] += dout[i] * b[i] * gelu_tanh_derivative(a[i]);
    if (db) {
      const float x = a[i];
      const float u = kSqrt2OverPi * (x * (1.0f + 0.044715f * x * x));
      db[i] += dout[i] * (x / (1.0f + std::exp(-2.0f * u)));
    }
  }
}

void soft_cap_backward_inplace(const float* y, float* grad, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) {
    const float t = y[i] / cap;
    grad[i] *= 1.0f - t * t;
  }
}

double softmax_cross_entropy(const float* logits, int64_t n, int32_t target, float* dlogits) {
  const float max_value = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_value);
  const double log_sum = std::log(sum) + max_value;
  if (dlogits) {
    for (int64_t i = 0; i < n; ++i) dlogits[i] = static_cast<float>(std::exp(static_cast<double>(logits[i]) - log_sum));
    dlogits[target] -= 1.0f;
  }
  return log_sum - logits[target];
}

void route_token_backward(const float* probabilities, int64_t experts, const ExpertChoice* choices, int64_t top_k,
                          const float* per_expert_scale, const float* dweight, float* dlogits, float* dscale) {
  // weight_k = s_k p_k / S with S = sum of the kept p: dp_j = s_j dw_j / S - (sum_k dw_k s_k p_k) / S^2
  // for kept j, 0 for the others; then through the softmax, dlogit_i = p_i (dp_i - sum_j p_j dp_j).
  double kept_sum = 0.0, weighted = 0.0;
  for (int64_t k = 0; k < top_k; ++k) kept_sum += probabilities[choices[k].expert];
  std::vector<double> dp(static_cast<size_t>(experts), 0.0);
  for (int64_t k = 0; k < top_k; ++k) {
    const int64_t e = choices[k].expert;
    const double scale = per_expert_scale ? per_expert_scale[e] : 1.0;
    weighted += dweight[k] * scale * probabilities[e];
    dp[e] += dweight[k] * scale / kept_sum;
    if (dscale) dscale[e] += static_cast<float>(dweight[k] * probabilities[e] / kept_sum);
  }
  double mean = 0.0;
  for (int64_t k = 0; k < top_k; ++k) {
    const int64_t e = choices[k].expert;
    dp[e] -= weighted / (kept_sum * kept_sum);
  }
  for (int64_t i = 0; i < experts; ++i) mean += probabilities[i] * dp[i];
  for (int64_t i = 0; i < experts; ++i) dlogits[i] += static_cast<float>(probabilities[i] * (dp[i] - mean));
}

}  // namespace gemma4::train
