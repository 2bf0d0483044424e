// The shared attention core (kernels/attention.h) against its plain double-precision twin and a case
// worked by hand, and the mask rules of model/attention_mask.h derived by hand.
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "model/attention_mask.h"

namespace gemma4 {
namespace {

using kernels::AttentionOptions;
using kernels::AttentionScratch;
using kernels::KeyValueRows;

struct Scratch {
  explicit Scratch(int64_t capacity)
      : scores(static_cast<size_t>(capacity)), positions(static_cast<size_t>(capacity)), reference(capacity) {}
  AttentionScratch view() { return {scores.data(), positions.data(), static_cast<int64_t>(scores.size())}; }
  std::vector<float> scores;
  std::vector<int64_t> positions;
  std::vector<double> reference;
};

std::vector<float> random_values(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(count);
  for (auto& value : values) value = normal(rng);
  return values;
}

TEST(AttentionCore, TwoKeysByHand) {
  // q.k0 = 1, q.k1 = 0: weights e/(1+e) and 1/(1+e) on v0 = [1, 0] and v1 = [0, 1].
  const float q[] = {1, 0};
  const float keys[] = {1, 0, 0, 0};
  const float values[] = {1, 0, 0, 1};
  Scratch scratch(2);
  AttentionOptions options;
  options.head_dim = 2;
  float out[2] = {0, 0};
  const auto all = [](int64_t) { return true; };
  EXPECT_EQ(kernels::attend(q, {keys, values, 2, 0}, 0, 1, all, options, scratch.view(), out), 2);
  const double e = std::exp(1.0);
  EXPECT_NEAR(out[0], e / (1 + e), 1e-6);
  EXPECT_NEAR(out[1], 1 / (1 + e), 1e-6);
}

// Ring-buffer addressing, a padding-style mask, scale, soft cap and an additive bias, against the twin.
TEST(AttentionCore, MatchesReferenceTwin) {
  constexpr int64_t kHeadDim = 40;  // not a multiple of the vector width: the tails run too
  constexpr int64_t kRing = 11, kStride = 3 * kHeadDim, kOffset = kHeadDim;  // head 1 of 3
  const auto keys = random_values(kRing * kStride, 1);
  const auto values = random_values(kRing * kStride, 2);
  const auto q = random_values(kHeadDim, 3);
  const KeyValueRows kv{keys.data() + kOffset, values.data() + kOffset, kStride, kRing};
  const auto visible = [](int64_t j) { return j % 3 != 1; };
  const auto bias = [](int64_t j) { return 0.25f * static_cast<float>(j % 4); };
  using Precision = AttentionOptions::Precision;
  struct Case {
    Precision precision;
    double cap;
    float scale;
  };
  for (const Case& c : {Case{Precision::kDouble, 0.0, 1.0f}, Case{Precision::kDouble, 2.0, 1.0f},
                        Case{Precision::kDouble, 2.0, 0.125f}, Case{Precision::kFloat, 0.0, 0.125f},
                        Case{Precision::kFloat, 2.0, 1.0f}}) {
    AttentionOptions options;
    options.head_dim = kHeadDim;
    options.scale = c.scale;
    options.soft_cap = c.cap;
    options.precision = c.precision;
    const std::string what = "cap " + std::to_string(c.cap) + " scale " + std::to_string(c.scale) +
                             (c.precision == Precision::kFloat ? " float" : " double");
    // Positions 20..30 are held in the ring (20 % 11 = 9 onwards, wrapping).
    Scratch scratch(kRing);
    std::vector<float> fast(kHeadDim, 0.5f), twin(kHeadDim, 0.5f);
    const int64_t used = kernels::attend(q.data(), kv, 20, 30, visible, options, scratch.view(), fast.data(), bias);
    const int64_t twin_used = kernels::attend_reference(q.data(), kv, 20, 30, visible, options,
                                                        scratch.reference.data(), twin.data(), bias);
    EXPECT_EQ(used, 8) << what;  // 20..30 without 22, 25, 28
    EXPECT_EQ(twin_used, used) << what;
    for (int64_t d = 0; d < kHeadDim; ++d) EXPECT_NEAR(fast[d], twin[d], 2e-6) << what << " dim " << d;
    // Without a bias the twin agrees too (the bias-free instantiation).
    std::fill(fast.begin(), fast.end(), 0.0f);
    std::fill(twin.begin(), twin.end(), 0.0f);
    kernels::attend(q.data(), kv, 20, 30, visible, options, scratch.view(), fast.data());
    kernels::attend_reference(q.data(), kv, 20, 30, visible, options, scratch.reference.data(), twin.data());
    for (int64_t d = 0; d < kHeadDim; ++d) EXPECT_NEAR(fast[d], twin[d], 2e-6) << what << " no bias, dim " << d;
  }
}

TEST(AttentionCore, FullyMaskedRowLeavesOutputUntouched) {
  const auto keys = random_values(8, 4);
  const float q[] = {1, 2};
  Scratch scratch(4);
  AttentionOptions options;
  options.head_dim = 2;
  float out[2] = {7, 7};
  const auto none = [](int64_t) { return false; };
  EXPECT_EQ(kernels::attend(q, {keys.data(), keys.data(), 2, 0}, 0, 3, none, options, scratch.view(), out), 0);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(out[1], 7);
  // An empty span (last < first) attends nothing either.
  const auto all = [](int64_t) { return true; };
  EXPECT_EQ(kernels::attend(q, {keys.data(), keys.data(), 2, 0}, 3, 2, all, options, scratch.view(), out), 0);
}

TEST(AttentionCore, SpanLargerThanScratchIsAnError) {
  const auto keys = random_values(8, 5);
  const float q[] = {1, 2};
  Scratch scratch(3);
  AttentionOptions options;
  options.head_dim = 2;
  float out[2] = {0, 0};
  const auto all = [](int64_t) { return true; };
  EXPECT_THROW(kernels::attend(q, {keys.data(), keys.data(), 2, 0}, 0, 3, all, options, scratch.view(), out), Error);
}

TEST(AttentionMask, PaddedQueriesSeeNothingOnlyWhenBidirectional) {
  EXPECT_FALSE(query_attends({true, false, 0}, false));
  EXPECT_TRUE(query_attends({true, false, 0}, true));
  EXPECT_TRUE(query_attends({false, false, 0}, false));
  EXPECT_TRUE(query_attends({false, true, 4}, false));
}

TEST(AttentionMask, ImageBlockWidensTheCausalWindow) {
  // A chunk starting at position 10: rows 1..3 are image 5, rows 5..6 image 7.
  const int32_t ids[] = {0, 5, 5, 5, 0, 7, 7};
  const ImageBlocks blocks{ids, 10, 7};
  const MaskRule sliding{false, true, 2};  // query - key <= 1
  // Row 2 (position 12): window [11, 12], widened to its block [11, 13].
  const QueryMask inside(sliding, 12, 17, blocks);
  EXPECT_EQ(inside.span().first, 11);
  EXPECT_EQ(inside.span().last, 13);
  EXPECT_TRUE(inside.sees(11));
  EXPECT_TRUE(inside.sees(12));
  EXPECT_TRUE(inside.sees(13));   // a later token of the same image
  EXPECT_FALSE(inside.sees(14));  // not an image token
  EXPECT_FALSE(inside.sees(15));  // another image
  // Row 1 (position 11), first of its block: window [10, 11], block up to 13.
  const QueryMask first(sliding, 11, 17, blocks);
  EXPECT_EQ(first.span().first, 10);
  EXPECT_EQ(first.span().last, 13);
  EXPECT_TRUE(first.sees(10));  // inside the window, though not in the image
  // Row 4 (position 14), no image: the plain window.
  const QueryMask text(sliding, 14, 17, blocks);
  EXPECT_EQ(text.span().first, 13);
  EXPECT_EQ(text.span().last, 14);
  EXPECT_FALSE(text.sees(15));
  // Without block ids the rule alone applies.
  const QueryMask plain(sliding, 12, 17, ImageBlocks{});
  EXPECT_EQ(plain.span().last, 12);
  EXPECT_FALSE(plain.sees(13));
}

TEST(AttentionMask, AudioChunkedLocalRule) {
  // Blocks of 4 frames, 3 past frames (context_left 4), no right context: a block's context is 7 slots.
  const ChunkedLocalMask rule{4, 3, 0};
  const KeyRange five = rule.visible(5);
  EXPECT_EQ(five.first, 3);
  EXPECT_EQ(five.last, 5);
  const KeyRange zero = rule.visible(0);
  EXPECT_EQ(zero.first, 0);
  EXPECT_EQ(zero.last, 0);
  const KeyRange block = rule.block_context(5);  // block 4..7, context from 4 - 3 = 1
  EXPECT_EQ(block.first, 1);
  EXPECT_EQ(block.last, 7);
  const KeyRange start = rule.block_context(2);  // block 0..3: context -3..3 (outside the clip before 0)
  EXPECT_EQ(start.first, -3);
  EXPECT_EQ(start.last, 3);
  const KeyRange right = ChunkedLocalMask{4, 3, 2}.block_context(5);
  EXPECT_EQ(right.last, 9);
}

}  // namespace
}  // namespace gemma4
