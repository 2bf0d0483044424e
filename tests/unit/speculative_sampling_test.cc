// Speculative decoding, sampling: the rejection rule keeps the target's distribution. Chi-square tests at one
// position over many seeds (deterministic: seeds 0..N-1), significance level 0.001 each, on the real model's
// filtered distribution; a plausible wrong rule fails the same test (the test can fail).
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gtest/gtest.h>

#include <map>

#include "generate/speculative.h"
#include "loading/builtin_model.h"

namespace gemma4 {
namespace {

using Ids = std::vector<int32_t>;

// Chi-square 0.999 quantiles (significance 0.001) by degrees of freedom, from standard tables.
double chi_square_critical(int64_t dof) {
  static const double table[] = {0, 10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588};
  if (dof < 1 || dof > 10) throw std::runtime_error("no table entry");
  return table[dof];
}

// Pearson's statistic of `counts` against `expected` probabilities (ids outside `expected` make it infinite).
double chi_square(const std::map<int32_t, int64_t>& counts, const TokenDistribution& expected, int64_t draws) {
  double statistic = 0;
  int64_t covered = 0;
  for (const auto& [id, p] : expected) {
    const auto found = counts.find(id);
    const double observed = found == counts.end() ? 0.0 : static_cast<double>(found->second);
    covered += static_cast<int64_t>(observed);
    const double e = p * static_cast<double>(draws);
    statistic += (observed - e) * (observed - e) / e;
  }
  return covered == draws ? statistic : 1e300;
}

SamplingConfig filtered_sampling(uint64_t seed, int top_k = 8) {
  SamplingConfig s;
  s.temperature = 1.3f;
  s.top_k = top_k;  // top_k categories, top_k - 1 degrees of freedom; each expected count above 5 below
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  s.seed = seed;
  return s;
}

struct Position {
  std::vector<float> logits;
  Ids context;
};

Position model_position() {
  CausalLM::Options options;
  options.max_context = 64;
  CausalLM lm(Backbone::from_config(builtin_tiny_config(), 3), nullptr, options);
  Position position;
  position.context = {2, 17, 300, 41, 99};
  position.logits = lm.feed(position.context);
  return position;
}

TEST(SpeculativeSampling, AcceptedOrResampledTokensFollowTheTarget) {
  const Position position = model_position();
  const int64_t vocab = static_cast<int64_t>(position.logits.size());
  const TokenDistribution p = SpeculativeVerifier(filtered_sampling(0)).target(position.logits.data(), vocab, position.context);
  ASSERT_EQ(p.size(), 8u);
  // Draft distributions: a point mass on the 2nd most likely token (prompt lookup), and a drafter that puts
  // mass on tokens the target filters out and too much on its 3rd choice.
  const int32_t second = p[1].first, third = p[2].first;
  const int32_t outside = [&] {
    for (int32_t id = 0;; ++id) {
      bool in = false;
      for (const auto& entry : p) in = in || entry.first == id;
      if (!in) return id;
    }
  }();
  const std::vector<std::pair<const char*, TokenDistribution>> drafters = {
      {"point mass", {{second, 1.0f}}},
      {"spread", {{third, 0.6f}, {outside, 0.3f}, {p[0].first, 0.1f}}},
  };
  const int64_t draws = 20000;
  for (const auto& [name, q] : drafters) {
    std::map<int32_t, int64_t> counts;
    std::mt19937_64 draft_engine(99);
    for (int64_t seed = 0; seed < draws; ++seed) {
      SpeculativeVerifier verifier(filtered_sampling(static_cast<uint64_t>(seed)));
      // Draw the draft from q, as a drafter would.
      std::uniform_real_distribution<double> uniform(0, 1);
      double u = uniform(draft_engine), cumulative = 0;
      int32_t drafted = q.back().first;
      for (const auto& [id, probability] : q) {
        cumulative += probability;
        if (u < cumulative) {
          drafted = id;
          break;
        }
      }
      DraftProposal proposal;
      proposal.tokens = {drafted};
      if (q.size() > 1) proposal.distributions = {q};
      // Row 1 (after the draft) is never reached when the draft is rejected; the same logits serve.
      std::vector<float> rows(position.logits);
      rows.insert(rows.end(), position.logits.begin(), position.logits.end());
      ++counts[verifier.verify(rows.data(), vocab, proposal, position.context).front()];
    }
    EXPECT_LT(chi_square(counts, p, draws), chi_square_critical(7)) << name;
  }
  // A wrong rule: accept with probability p(d), but resample from p itself instead of the residual. The same
  // test rejects it.
  std::map<int32_t, int64_t> wrong;
  std::mt19937_64 engine(5);
  std::uniform_real_distribution<double> uniform(0, 1);
  for (int64_t i = 0; i < draws; ++i) {
    if (uniform(engine) < p[1].second) {
      ++wrong[second];
      continue;
    }
    double u = uniform(engine), cumulative = 0;
    int32_t pick = p.back().first;
    for (const auto& [id, probability] : p) {
      cumulative += probability;
      if (u < cumulative) {
        pick = id;
        break;
      }
    }
    ++wrong[pick];
  }
  EXPECT_GT(chi_square(wrong, p, draws), chi_square_critical(7));
}

// Through CausalLM::generate: the second generated token, drafted as a point mass and verified, follows the
// target's distribution given the first (runs whose first token is the most likely one; seeds 0..N-1).
TEST(SpeculativeSampling, GenerateWithDraftsKeepsTheDistribution) {
  const Gemma4Config config = builtin_tiny_config();
  CausalLM::Options options;
  options.max_context = 64;
  const Ids prompt{2, 17, 300, 41, 99};
  CausalLM lm(Backbone::from_config(config, 3), nullptr, options);
  const std::vector<float> first_logits = lm.feed(prompt);
  const int64_t vocab = config.vocabulary_size;
  const TokenDistribution first =
      SpeculativeVerifier(filtered_sampling(0, 4)).target(first_logits.data(), vocab, prompt);
  const int32_t mode = first[0].first;
  lm.reset();
  Ids after = prompt;
  after.push_back(mode);
  const std::vector<float> second_logits = lm.feed(after);
  const TokenDistribution second = SpeculativeVerifier(filtered_sampling(0, 4)).target(second_logits.data(), vocab, after);
  const int32_t drafted = second[1].first;
  std::map<int32_t, int64_t> counts;
  int64_t kept = 0;
  for (uint64_t seed = 0; seed < 8000; ++seed) {
    GenerationConfig generation;
    generation.max_new_tokens = 3;  // room for one draft at the second token
    generation.sampling = filtered_sampling(seed, 4);
    generation.stop_token_ids = {-5};
    generation.draft.kind = DraftConfig::Kind::kCustom;
    generation.draft.custom = [&](const Ids&, int64_t) { return Ids{drafted}; };
    const GenerationResult result = lm.generate(prompt, generation);
    ASSERT_EQ(result.draft_steps, 1);
    if (result.tokens[0] != mode) continue;
    ++kept;
    ++counts[result.tokens[1]];
  }
  ASSERT_GT(kept * second.back().second, 5.0) << "too few runs for the chi-square approximation";
  EXPECT_LT(chi_square(counts, second, kept), chi_square_critical(3)) << kept << " runs";
}

TEST(SpeculativeSampling, ResidualIsTargetMinusDraftNormalised) {
  // p = (0.5, 0.3, 0.2), q = (0.2, 0.6, 0, +0.2 outside): max(0, p - q) = (0.3, 0, 0.2) -> (0.6, 0, 0.4).
  const TokenDistribution p{{1, 0.5f}, {2, 0.3f}, {3, 0.2f}};
  const TokenDistribution q{{1, 0.2f}, {2, 0.6f}, {9, 0.2f}};
  const TokenDistribution r = residual_distribution(p, q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].first, 1);
  EXPECT_NEAR(r[0].second, 0.6f, 1e-6);
  EXPECT_EQ(r[1].first, 3);
  EXPECT_NEAR(r[1].second, 0.4f, 1e-6);
}

}  // namespace
}  // namespace gemma4
