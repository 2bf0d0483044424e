// Picks the next token from logits: repetition penalty, temperature, top-k, top-p, min-p, seeded draws.
#pragma once

#include <gemma4/causal_lm.h>

#include <random>
#include <vector>

namespace gemma4 {

class Sampler {
 public:
  explicit Sampler(const SamplingConfig& config);

  // `logits` [vocab] is modified. `context` holds the ids the repetition penalty applies to.
  int32_t sample(std::vector<float>& logits, const std::vector<int32_t>& context);

  // The candidate ids that survive the filters with their probabilities (sorted, most likely first);
  // exposed for tests. Greedy returns the single best id with probability 1.
  std::vector<std::pair<int32_t, float>> candidates(std::vector<float>& logits, const std::vector<int32_t>& context) const;

 private:
  SamplingConfig config_;
  std::mt19937_64 engine_;
};

}  // namespace gemma4
