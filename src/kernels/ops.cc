#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

namespace gemma4::kernels {

void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * dim;
    float* out = y + r * dim;
    double sum_squares = 0.0;  // double: row sums of up to ~10^4 squares stay exact enough
    for (int64_t i = 0; i < dim; ++i) sum_squares += static_cast<double>(in[i]) * in[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(dim) + eps));
    if (weight) {
      for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * scale * weight[i];
    } else {
      for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * scale;
    }
  }
}

// Through 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): the same value without the cancellation of 1 + tanh(u)
// for negative x (the vectorised twin in ops_simd.cc evaluates the same expression).
float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const float u = kSqrt2OverPi * (x * (1.0f + 0.044715f * x * x));
  return x / (1.0f + std::exp(-2.0f * u));
}

// gelu_tanh_inplace and gelu_tanh_mul: ops_simd.cc (vectorised when the CPU has AVX2).

// soft_cap_inplace: ops_simd.cc (vectorised when the CPU has AVX2).

void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  const float max_value = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inverse = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inverse;
}

void rope_inplace(float* head, int64_t head_dim, int64_t rotated_pairs, double position, double wavelength,
                  double scaling_factor) {
  const int64_t half = head_dim / 2;
  for (int64_t j = 0; j < rotated_pairs; ++j) {
    // Frequencies in float32 as the references compute them; the angle product in float32 too.
    const float inv_freq = static_cast<float>(std::pow(wavelength, -2.0 * static_cast<double>(j) / head_dim) / scaling_factor);
    const float angle = static_cast<float>(position) * inv_freq;
    const float c = std::cos(angle);
    const float s = std::sin(angle);
    const float a = head[j];
    const float b = head[j + half];
    head[j] = a * c - b * s;
    head[j + half] = b * c + a * s;
  }
}

}  // namespace gemma4::kernels
