#include "generate/speculative.h"

#include <algorithm>
#include <unordered_map>

namespace gemma4 {
namespace {

float probability_of(const TokenDistribution& distribution, int32_t id) {
  for (const auto& [candidate, probability] : distribution) {
    if (candidate == id) return probability;
  }
  return 0.0f;
}

}  // namespace

SpeculativeVerifier::SpeculativeVerifier(const SamplingConfig& config)
    : config_(config), sampler_(config), engine_(config.seed ^ 0x5bd1e9955bd1e995ULL) {}

TokenDistribution SpeculativeVerifier::target(const float* logits, int64_t vocab,
                                              const std::vector<int32_t>& context) const {
  std::vector<float> row(logits, logits + vocab);  // candidates() applies the penalty in place
  return sampler_.candidates(row, context);
}

int32_t SpeculativeVerifier::draw(const TokenDistribution& distribution) {
  if (distribution.size() == 1) return distribution[0].first;
  double total = 0;
  for (const auto& entry : distribution) total += entry.second;
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double u = uniform(engine_);
  double cumulative = 0;
  for (const auto& [id, probability] : distribution) {
    cumulative += probability;
    if (u < cumulative) return id;
  }
  return distribution.back().first;
}

int32_t SpeculativeVerifier::sample(const float* logits, int64_t vocab, const std::vector<int32_t>& context) {
  return draw(target(logits, vocab, context));
}

TokenDistribution residual_distribution(const TokenDistribution& target, const TokenDistribution& draft) {
  std::unordered_map<int32_t, float> q;
  for (const auto& [id, probability] : draft) q[id] += probability;
  TokenDistribution out;
  double total = 0;
  for (const auto& [id, probability] : target) {
    const auto found = q.find(id);
    const float rest = probability - (found == q.end() ? 0.0f : found->second);
    if (rest > 0) {
      out.emplace_back(id, rest);
      total += rest;
    }
  }
  if (out.empty() || total <= 0) return target;  // p <= q everywhere means p == q: a rejection cannot happen
  for (auto& entry : out) entry.second = static_cast<float>(entry.second / total);
  return out;
}

std::vector<int32_t> SpeculativeVerifier::verify(const float* logits, int64_t vocab, const DraftProposal& drafts,
                                                 const std::vector<int32_t>& context) {
  std::vector<int32_t> seen = context;  // the repetition penalty sees each accepted draft
  std::vector<int32_t> out;
  const bool greedy = config_.temperature == 0.0f;
  const size_t count = drafts.tokens.size();
  for (size_t i = 0; i <= count; ++i) {
    const TokenDistribution p = target(logits + static_cast<int64_t>(i) * vocab, vocab, seen);
    if (i == count) {  // every draft accepted: the last row gives one more token for free
      out.push_back(draw(p));
      break;
    }
    const int32_t drafted = drafts.tokens[i];
    if (greedy) {
      if (p[0].first == drafted) {
        out.push_back(drafted);
        seen.push_back(drafted);
        continue;
      }
      out.push_back(p[0].first);
      break;
    }
    const TokenDistribution point{{drafted, 1.0f}};
    const TokenDistribution& q = drafts.distributions.empty() ? point : drafts.distributions[i];
    const float p_d = probability_of(p, drafted);
    const float q_d = probability_of(q, drafted);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    // Accept with probability min(1, p(d) / q(d)); q(d) > 0 since d was drawn from q.
    if (q_d > 0 && uniform(engine_) * q_d < p_d) {
      out.push_back(drafted);
      seen.push_back(drafted);
      continue;
    }
    out.push_back(draw(residual_distribution(p, q)));
    break;
  }
  return out;
}

}  // namespace gemma4
