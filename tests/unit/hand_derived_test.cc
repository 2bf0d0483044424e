// Features that neither llama.cpp nor the KerasHub fixtures exercise (attention logit soft-cap, RoPE
// scaling factors != 1), checked on a model small enough to work out by hand: hidden size 2, one head of
// size 2, identity projections, a zero MLP. Everything in the expected values is written out below.
#include <gemma4/backbone.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>

#include "loading/build_backbone.h"
#include "schema/weight_source.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

using Vec2 = std::array<double, 2>;

constexpr double kEps = 1e-6;
const Vec2 kEmbeddings[4] = {{0.3, -0.2}, {1.0, 0.5}, {-0.4, 0.9}, {0.7, -1.1}};

// x / sqrt(mean(x^2) + eps)
Vec2 rms(const Vec2& x) {
  const double scale = 1.0 / std::sqrt((x[0] * x[0] + x[1] * x[1]) / 2 + kEps);
  return {x[0] * scale, x[1] * scale};
}
Vec2 rotate(const Vec2& x, double angle) {
  return {x[0] * std::cos(angle) - x[1] * std::sin(angle), x[1] * std::cos(angle) + x[0] * std::sin(angle)};
}
double dot(const Vec2& a, const Vec2& b) { return a[0] * b[0] + a[1] * b[1]; }

// Logits of both positions of the sequence [1, 2] for one full-attention layer.
std::vector<double> expected_logits(double soft_cap, double rope_factor, double wavelength) {
  const double root_hidden = std::sqrt(2.0);
  const Vec2 h[2] = {{kEmbeddings[1][0] * root_hidden, kEmbeddings[1][1] * root_hidden},
                     {kEmbeddings[2][0] * root_hidden, kEmbeddings[2][1] * root_hidden}};
  // q = k = RoPE(rms(rms(h))) (input norm, then q/k norm; weights 1), angle = position * wavelength^0 / factor.
  Vec2 q[2], k[2], v[2];
  for (int t = 0; t < 2; ++t) {
    q[t] = k[t] = rotate(rms(rms(h[t])), t * std::pow(wavelength, 0.0) / rope_factor);
    v[t] = rms(rms(h[t]));  // value norm has no weight and no rotation
  }
  auto cap = [&](double s) { return soft_cap > 0 ? soft_cap * std::tanh(s / soft_cap) : s; };
  Vec2 attended[2];
  attended[0] = v[0];  // position 0 sees only itself
  const double s0 = cap(dot(q[1], k[0])), s1 = cap(dot(q[1], k[1]));
  const double p0 = std::exp(s0) / (std::exp(s0) + std::exp(s1)), p1 = 1 - p0;
  attended[1] = {p0 * v[0][0] + p1 * v[1][0], p0 * v[0][1] + p1 * v[1][1]};
  std::vector<double> logits;
  for (int t = 0; t < 2; ++t) {
    const Vec2 branch = rms(attended[t]);  // o_proj = I, post-attention norm weight 1
    // Zero MLP: its post-norm of a zero vector is zero, so the stream only gets the attention branch.
    const Vec2 out = rms({h[t][0] + branch[0], h[t][1] + branch[1]});
    for (const Vec2& e : kEmbeddings) logits.push_back(dot(out, e));
  }
  return logits;
}

std::vector<float> engine_logits(double soft_cap, double rope_factor, double wavelength) {
  Gemma4Config config;
  config.vocabulary_size = 4;
  config.num_layers = 1;
  config.num_query_heads = 1;
  config.num_key_value_heads = 1;
  config.hidden_dim = 2;
  config.intermediate_dim = 2;
  config.head_dim = 2;
  config.layer_types = {LayerType::kFull};
  if (soft_cap > 0) config.attention_logit_soft_cap = soft_cap;
  config.global_rope_scaling_factor = rope_factor;
  config.global_rope_wavelength = wavelength;
  config.dtype = "float32";  // the hand derivation scales embeddings by the exact sqrt(2)
  config.validate();

  auto source = std::make_shared<WeightSource>();
  source->description = "hand-built";
  auto add = [&](const std::string& name, Shape shape, std::vector<float> values) {
    auto& buffer = source->new_buffer(values.size() * sizeof(float));
    std::memcpy(buffer.data(), values.data(), buffer.size());
    source->add(name, TensorView{DType::F32, shape, buffer.data(), buffer.size()}, "hand-built");
  };
  std::vector<float> embedding;
  for (const Vec2& e : kEmbeddings) embedding.insert(embedding.end(), {float(e[0]), float(e[1])});
  add("embed_tokens.weight", {4, 2}, embedding);
  add("norm.weight", {2}, {1, 1});
  const std::vector<float> identity = {1, 0, 0, 1}, zero = {0, 0, 0, 0}, ones = {1, 1};
  for (const char* name : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                           "post_feedforward_layernorm"}) {
    add(std::string("layers.0.") + name + ".weight", {2}, ones);
  }
  for (const char* name : {"q_proj", "k_proj", "v_proj", "o_proj"}) add(std::string("layers.0.self_attn.") + name + ".weight", {2, 2}, identity);
  add("layers.0.self_attn.q_norm.weight", {2}, ones);
  add("layers.0.self_attn.k_norm.weight", {2}, ones);
  for (const char* name : {"gate_proj", "up_proj", "down_proj"}) add(std::string("layers.0.mlp.") + name + ".weight", {2, 2}, zero);
  add("layers.0.layer_scalar", {1}, {1});

  Checkpoint checkpoint;
  checkpoint.config = config;
  checkpoint.weights = source;
  const std::unique_ptr<Backbone> built = build_backbone(std::move(checkpoint), LoadOptions{});
  const Backbone& backbone = *built;
  BackboneInputs inputs;
  inputs.token_ids = {1, 2};
  inputs.sequence_length = 2;
  return backbone.forward(inputs).logits;
}

// Largest change of a position-1 logit between two settings (must be far above the 1e-5 tolerance).
double largest_change(const std::vector<double>& a, const std::vector<double>& b) {
  double change = 0;
  for (size_t i = 4; i < 8; ++i) change = std::max(change, std::abs(a[i] - b[i]));
  return change;
}

void expect_matches_hand_derivation(double soft_cap, double rope_factor, double wavelength) {
  const auto expected = expected_logits(soft_cap, rope_factor, wavelength);
  const auto actual = engine_logits(soft_cap, rope_factor, wavelength);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-5) << "soft cap " << soft_cap << ", rope factor " << rope_factor << ", logit " << i;
  }
}

TEST(HandDerived, AttentionLogitSoftCap) {
  expect_matches_hand_derivation(0.0, 1.0, 1e6);
  expect_matches_hand_derivation(0.5, 1.0, 1e6);  // scores of about +-2 are squeezed to about +-0.5
  // The cap really changes the result on this model.
  EXPECT_GT(largest_change(expected_logits(0.5, 1.0, 1e6), expected_logits(0.0, 1.0, 1e6)), 1e-3);
}

TEST(HandDerived, RopeScalingFactor) {
  expect_matches_hand_derivation(0.0, 4.0, 1e6);
  expect_matches_hand_derivation(0.0, 0.25, 10.0);
  EXPECT_GT(largest_change(expected_logits(0.0, 4.0, 1e6), expected_logits(0.0, 1.0, 1e6)), 1e-3);
}

}  // namespace
}  // namespace gemma4
