#include "generate/sampler.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace gemma4 {

Sampler::Sampler(const SamplingConfig& config) : config_(config), engine_(config.seed) {
  if (config.temperature < 0) throw Error("temperature must be >= 0 (got " + std::to_string(config.temperature) + ")");
  if (config.top_k < 0) throw Error("top_k must be >= 0 (got " + std::to_string(config.top_k) + ")");
  if (!(config.top_p > 0 && config.top_p <= 1)) throw Error("top_p must be in (0, 1] (got " + std::to_string(config.top_p) + ")");
  if (!(config.min_p >= 0 && config.min_p < 1)) throw Error("min_p must be in [0, 1) (got " + std::to_string(config.min_p) + ")");
  if (!(config.repetition_penalty > 0)) throw Error("repetition_penalty must be > 0");
}

std::vector<std::pair<int32_t, float>> Sampler::candidates(std::vector<float>& logits,
                                                           const std::vector<int32_t>& context) const {
  const int64_t vocab = static_cast<int64_t>(logits.size());
  if (config_.repetition_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(context.begin(), context.end());
    for (int32_t id : seen) {
      if (id < 0 || id >= vocab) continue;
      float& logit = logits[id];
      logit = logit > 0 ? logit / config_.repetition_penalty : logit * config_.repetition_penalty;
    }
  }
  if (config_.temperature == 0.0f) {
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    return {{static_cast<int32_t>(best), 1.0f}};
  }
  // Order the candidates by logit (only the top k when k is set).
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const int64_t keep = config_.top_k > 0 ? std::min<int64_t>(config_.top_k, vocab) : vocab;
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_logit);
  order.resize(static_cast<size_t>(keep));

  // Softmax of logit / temperature over the kept candidates, in double.
  const double max_logit = logits[order[0]];
  std::vector<double> probabilities(order.size());
  double total = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    probabilities[i] = std::exp((logits[order[i]] - max_logit) / config_.temperature);
    total += probabilities[i];
  }
  for (auto& p : probabilities) p /= total;

  // Top-p: the smallest prefix whose mass reaches top_p (at least one token).
  size_t count = order.size();
  if (config_.top_p < 1.0f) {
    double mass = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      mass += probabilities[i];
      if (mass >= config_.top_p) {
        count = i + 1;
        break;
      }
    }
  }
  // Min-p: drop tokens less likely than min_p times the most likely one.
  if (config_.min_p > 0.0f) {
    const double floor = config_.min_p * probabilities[0];
    size_t kept = 1;
    while (kept < count && probabilities[kept] >= floor) ++kept;
    count = kept;
  }
  double kept_mass = 0;
  for (size_t i = 0; i < count; ++i) kept_mass += probabilities[i];
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.emplace_back(order[i], static_cast<float>(probabilities[i] / kept_mass));
  return out;
}

int32_t Sampler::sample(std::vector<float>& logits, const std::vector<int32_t>& context) {
  const auto options = candidates(logits, context);
  if (options.size() == 1) return options[0].first;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double draw = uniform(engine_);
  double cumulative = 0;
  for (const auto& [id, probability] : options) {
    cumulative += probability;
    if (draw < cumulative) return id;
  }
  return options.back().first;
}

}  // namespace gemma4
