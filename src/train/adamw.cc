#include "train/adamw.h"

#include <gemma4/error.h>

#include <cmath>
#include <string>

namespace gemma4::train {

void AdamW::step(const std::vector<ParameterSlot>& slots, float lr) {
  if (m_.empty()) {
    for (const ParameterSlot& s : slots) {
      m_.emplace_back(s.value->size(), 0.0f);
      v_.emplace_back(s.value->size(), 0.0f);
    }
  }
  if (m_.size() != slots.size()) {
    throw Error("AdamW: " + std::to_string(slots.size()) + " parameters given, the optimizer holds moments for " +
                std::to_string(m_.size()));
  }
  ++steps_;
  const double t = static_cast<double>(steps_);
  const float b1 = options_.beta1, b2 = options_.beta2;
  const float correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
  const float correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(b2), t));
  const float decay = 1.0f - lr * options_.weight_decay;
  for (size_t i = 0; i < slots.size(); ++i) {
    std::vector<float>& p = *slots[i].value;
    const std::vector<float>& g = *slots[i].gradient;
    if (g.size() != p.size() || m_[i].size() != p.size()) {
      throw Error("AdamW: parameter " + std::to_string(i) + " has " + std::to_string(p.size()) + " values, its gradient " +
                  std::to_string(g.size()) + " and its moments " + std::to_string(m_[i].size()));
    }
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (size_t j = 0; j < p.size(); ++j) {
      m[j] = b1 * m[j] + (1.0f - b1) * g[j];
      v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
      const float m_hat = m[j] / correction1;
      const float v_hat = v[j] / correction2;
      p[j] = p[j] * decay - lr * m_hat / (std::sqrt(v_hat) + options_.epsilon);
    }
  }
}

void AdamW::restore(int64_t steps, std::vector<std::vector<float>> m, std::vector<std::vector<float>> v) {
  if (m.size() != v.size()) throw Error("AdamW: first and second moments differ in count");
  steps_ = steps;
  m_ = std::move(m);
  v_ = std::move(v);
}

double global_norm(const std::vector<std::vector<float>*>& gradients) {
  double sum = 0;
  for (const std::vector<float>* g : gradients) {
    for (float x : *g) sum += static_cast<double>(x) * x;
  }
  return std::sqrt(sum);
}

double clip_by_global_norm(const std::vector<std::vector<float>*>& gradients, double max_norm) {
  const double norm = global_norm(gradients);
  if (max_norm > 0 && norm > max_norm) {
    const float factor = static_cast<float>(max_norm / norm);
    for (std::vector<float>* g : gradients) {
      for (float& x : *g) x *= factor;
    }
  }
  return norm;
}

}  // namespace gemma4::train
