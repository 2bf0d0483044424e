// Speculative decoding's acceptance step: K drafted tokens checked against the target's logits for the K+1
// positions [last token, d1..dK], computed in one pass. Greedy keeps drafts while they equal the target's
// choice; sampling uses the rejection rule of Leviathan et al. / Chen et al. (2023), so the tokens produced
// follow the target's (filtered) distribution exactly.
#pragma once

#include <gemma4/causal_lm.h>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "generate/sampler.h"

namespace gemma4 {

// A sparse distribution over token ids (ids distinct, probabilities summing to 1).
using TokenDistribution = std::vector<std::pair<int32_t, float>>;

struct DraftProposal {
  std::vector<int32_t> tokens;
  // The drafter's distribution each token was drawn from; empty = point masses (prompt lookup, greedy drafts).
  std::vector<TokenDistribution> distributions;
};

class SpeculativeVerifier {
 public:
  explicit SpeculativeVerifier(const SamplingConfig& config);

  // `logits` holds rows [drafts + 1, vocab]: row i is the target's prediction after the context followed by
  // drafts d1..di. `context` is what the repetition penalty sees before row 0. Returns the accepted drafts
  // followed by one more token (the correction at the first rejection, or the bonus token after row K).
  std::vector<int32_t> verify(const float* logits, int64_t vocab, const DraftProposal& drafts,
                              const std::vector<int32_t>& context);

  // One token from one row of logits, with this verifier's filters and random stream (no drafts).
  int32_t sample(const float* logits, int64_t vocab, const std::vector<int32_t>& context);

  // The target's filtered distribution of one row (the sampler's candidates).
  TokenDistribution target(const float* logits, int64_t vocab, const std::vector<int32_t>& context) const;

 private:
  int32_t draw(const TokenDistribution& distribution);

  SamplingConfig config_;
  Sampler sampler_;  // its filters (candidates); draws come from engine_
  std::mt19937_64 engine_;
  std::vector<float> row_;
};

// Residual distribution of a rejection: max(0, p - q), normalised; p itself where that leaves nothing.
TokenDistribution residual_distribution(const TokenDistribution& target, const TokenDistribution& draft);

}  // namespace gemma4
