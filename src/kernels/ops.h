// Element-wise and row-wise float32 operations. Nothing here knows about Gemma.
#pragma once

#include <cstdint>

namespace gemma4::kernels {

// y = x * (mean(x^2) + eps)^-1/2 * weight, over rows of length `dim`; weight may be null (no scale).
// In place is allowed (y == x).
void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* y);

// GELU with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float gelu_tanh(float x);
void gelu_tanh_inplace(float* x, int64_t n);
// a[i] = gelu_tanh(a[i]) * b[i]
void gelu_tanh_mul(float* a, const float* b, int64_t n);

// x = cap * tanh(x / cap)
void soft_cap_inplace(float* x, int64_t n, float cap);

// Numerically stable softmax of one row, in place.
void softmax_inplace(float* x, int64_t n);

// Rotary embedding in the half-split (NeoX, rotate_half) layout on one head vector of length
// head_dim: pairs (j, j + head_dim/2) for j < rotated_pairs are rotated by position * inv_freq[j];
// the other dimensions pass through. inv_freq[j] = wavelength^(-2j/head_dim) / scaling_factor.
void rope_inplace(float* head, int64_t head_dim, int64_t rotated_pairs, double position, double wavelength,
                  double scaling_factor);

// Vectorised building blocks for attention inner loops (AVX2 when the CPU has it, plain loops
// otherwise; float32 sums in a different order than a sequential loop).
float dot(const float* a, const float* b, int64_t n);
// y[i] += alpha * x[i]
void axpy(float alpha, const float* x, float* y, int64_t n);

}  // namespace gemma4::kernels
