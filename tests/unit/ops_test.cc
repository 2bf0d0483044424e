// Element-wise ops against plain double-precision loops written from the formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "model/attention_mask.h"
#include "model/moe_routing.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(engine);
  return out;
}

TEST(Ops, RmsNormMatchesFormula) {
  const int64_t rows = 3, dim = 37;
  auto x = random_vector(rows * dim, 1, 3.0f);
  auto w = random_vector(dim, 2);
  std::vector<float> y(x.size()), unscaled(x.size());
  kernels::rms_norm(x.data(), w.data(), rows, dim, 1e-6f, y.data());
  kernels::rms_norm(x.data(), nullptr, rows, dim, 1e-6f, unscaled.data());
  for (int64_t r = 0; r < rows; ++r) {
    double mean_square = 0;
    for (int64_t i = 0; i < dim; ++i) mean_square += double(x[r * dim + i]) * x[r * dim + i];
    mean_square /= dim;
    const double inv = 1.0 / std::sqrt(mean_square + 1e-6);
    for (int64_t i = 0; i < dim; ++i) {
      // Gemma 4 multiplies by the weight itself: no (1 + w).
      EXPECT_NEAR(y[r * dim + i], x[r * dim + i] * inv * w[i], 1e-5);
      EXPECT_NEAR(unscaled[r * dim + i], x[r * dim + i] * inv, 1e-5);
    }
  }
}

TEST(Ops, GeluTanhMatchesFormula) {
  for (double x : {-6.0, -2.5, -1.0, -0.1, 0.0, 0.3, 1.0, 2.0, 5.0}) {
    const double expected = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(kernels::gelu_tanh(static_cast<float>(x)), expected, 1e-6) << x;
  }
}

TEST(Ops, SoftmaxAndSoftCap) {
  std::vector<float> x = {1.0f, 2.0f, -3.0f, 1000.0f, 999.0f};
  kernels::softmax_inplace(x.data(), 5);
  const double denominator = 1 + std::exp(-1.0) + std::exp(-999.0) + std::exp(-1001.0) + std::exp(-998.0);
  EXPECT_NEAR(x[3], 1.0 / denominator, 1e-7);
  EXPECT_NEAR(x[4], std::exp(-1.0) / denominator, 1e-7);
  std::vector<float> logits = {0.0f, 15.0f, -60.0f, 300.0f};
  kernels::soft_cap_inplace(logits.data(), 4, 30.0f);
  EXPECT_FLOAT_EQ(logits[0], 0.0f);
  EXPECT_NEAR(logits[1], 30 * std::tanh(0.5), 1e-5);
  EXPECT_NEAR(logits[2], 30 * std::tanh(-2.0), 1e-5);
  EXPECT_NEAR(logits[3], 30 * std::tanh(10.0), 1e-5);
}

// The vectorised soft cap (8 lanes at a time, tail scalar) against tanh in double, over logits from tiny
// to far past the cap.
TEST(Ops, SoftCapVectorPathMatchesTanh) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 25.0f);
  std::vector<float> logits(1003);
  for (auto& v : logits) v = normal(rng);
  logits[0] = 1e-7f;
  logits[1] = -2e-4f;
  logits[2] = 500.0f;
  logits[3] = -1e30f;
  std::vector<float> capped = logits;
  kernels::soft_cap_inplace(capped.data(), static_cast<int64_t>(capped.size()), 30.0f);
  for (size_t i = 0; i < logits.size(); ++i) {
    const double expected = 30.0 * std::tanh(static_cast<double>(logits[i]) / 30.0);
    EXPECT_NEAR(capped[i], expected, 4e-6 + 1e-6 * std::abs(expected)) << "logit " << logits[i];
  }
}

// Reference RoPE: pairs (j, j + D/2) rotated by pos * theta^(-2j/D) / factor for j < pairs.
std::vector<double> reference_rope(const std::vector<float>& x, int64_t pairs, double pos, double theta, double factor) {
  const int64_t dim = static_cast<int64_t>(x.size());
  std::vector<double> y(x.begin(), x.end());
  for (int64_t j = 0; j < pairs; ++j) {
    const double angle = pos * std::pow(theta, -2.0 * j / dim) / factor;
    y[j] = x[j] * std::cos(angle) - x[j + dim / 2] * std::sin(angle);
    y[j + dim / 2] = x[j + dim / 2] * std::cos(angle) + x[j] * std::sin(angle);
  }
  return y;
}

TEST(Ops, FullRopeRotatesEveryPair) {
  auto x = random_vector(16, 3);
  for (double pos : {0.0, 1.0, 7.0, 300.0}) {
    auto y = x;
    kernels::rope_inplace(y.data(), 16, 8, pos, 10000.0, 1.0);
    auto expected = reference_rope(x, 8, pos, 10000.0, 1.0);
    for (int i = 0; i < 16; ++i) EXPECT_NEAR(y[i], expected[i], 2e-4) << "pos " << pos << " dim " << i;
  }
}

TEST(Ops, PartialRopeRotatesOnlyTheFirstPairsOfEachHalf) {
  // Global layers of the released models: D=512, factor 0.25 -> pairs 64: dims [0,64) and [256,320).
  const int64_t dim = 512, pairs = 64;
  auto x = random_vector(dim, 4);
  auto y = x;
  kernels::rope_inplace(y.data(), dim, pairs, 123.0, 1e6, 1.0);
  auto expected = reference_rope(x, pairs, 123.0, 1e6, 1.0);
  for (int64_t i = 0; i < dim; ++i) {
    EXPECT_NEAR(y[i], expected[i], 2e-4) << i;
    const bool rotated = i < 64 || (i >= 256 && i < 320);
    if (!rotated) EXPECT_EQ(y[i], x[i]) << "dimension " << i << " must pass through";
  }
  // A scaling factor divides every frequency: position p with factor 4 equals position p/4.
  auto scaled = x, quarter = x;
  kernels::rope_inplace(scaled.data(), dim, pairs, 400.0, 1e6, 4.0);
  kernels::rope_inplace(quarter.data(), dim, pairs, 100.0, 1e6, 1.0);
  for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(scaled[i], quarter[i], 1e-4);
}

// KerasHub gemma4_decoder_block_test.py: the default mask is the causal lower triangle; local layers also
// drop keys more than W-1 behind; bidirectional sees everything.
TEST(Masks, CausalSlidingAndBidirectional) {
  const int64_t length = 10, window = 4;
  for (int64_t q = 0; q < length; ++q) {
    for (int64_t k = 0; k < length; ++k) {
      auto inside = [&](const MaskRule& rule) {
        const KeyRange range = visible_keys(rule, q, length);
        return k >= range.first && k <= range.last;
      };
      EXPECT_EQ(inside({false, false, 0}), k <= q);
      EXPECT_EQ(inside({false, true, window}), k <= q && q - k <= window - 1) << q << "," << k;
      EXPECT_TRUE(inside({true, false, 0}));
    }
  }
  // The window edge: query 9 sees keys 6..9 only.
  const KeyRange edge = visible_keys({false, true, window}, 9, length);
  EXPECT_EQ(edge.first, 6);
  EXPECT_EQ(edge.last, 9);
}

TEST(Routing, SoftmaxTopKRenormaliseThenExpertScale) {
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.5f};
  const float scales[] = {1.0f, 0.5f, 2.0f, 3.0f};
  std::vector<int64_t> order(4);
  std::vector<ExpertChoice> choices(2);
  route_token(logits.data(), 4, 2, scales, order.data(), choices.data());
  // By hand: softmax, keep experts 1 and 3, renormalise: e^2/(e^2+e^1.5), e^1.5/(e^2+e^1.5).
  const double a = std::exp(2.0), b = std::exp(1.5);
  EXPECT_EQ(choices[0].expert, 1);
  EXPECT_EQ(choices[1].expert, 3);
  EXPECT_NEAR(choices[0].weight, a / (a + b) * 0.5, 1e-6);
  EXPECT_NEAR(choices[1].weight, b / (a + b) * 3.0, 1e-6);
  // Ties go to the lower index.
  std::vector<float> flat = {1.0f, 1.0f, 1.0f};
  std::vector<ExpertChoice> tied(1);
  route_token(flat.data(), 3, 1, nullptr, order.data(), tied.data());
  EXPECT_EQ(tied[0].expert, 0);
  EXPECT_NEAR(tied[0].weight, 1.0, 1e-7);
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// gemma4_layers_test.py: rows [[1,2,3],[4,5,6],[99,99,99]] with mask [1,1,0] pool to [2.5,3.5,4.5];
// an all-padded sequence pools to zeros.
TEST(Pooling, MaskedMeanMatchesKerasHubTest) {
  const float rows[] = {1, 2, 3, 4, 5, 6, 99, 99, 99};
  const uint8_t mask[] = {1, 1, 0};
  EXPECT_EQ(masked_mean(rows, mask, 3, 3), (std::vector<float>{2.5f, 3.5f, 4.5f}));
  const uint8_t none[] = {0, 0, 0};
  EXPECT_EQ(masked_mean(rows, none, 3, 3), (std::vector<float>{0, 0, 0}));
}

}  // namespace
}  // namespace gemma4
