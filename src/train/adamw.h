// AdamW with decoupled weight decay (Loshchilov & Hutter; the update of torch.optim.AdamW and keras.optimizers.AdamW),
// and gradient clipping by the global norm.
#pragma once

#include <cstdint>
#include <vector>

namespace gemma4::train {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.0f;
};

// One parameter tensor and its gradient (same length).
struct ParameterSlot {
  std::vector<float>* value;
  const std::vector<float>* gradient;
};

class AdamW {
 public:
  explicit AdamW(AdamWOptions options = {}) : options_(options) {}

  // Step t = step_count() + 1 with learning rate lr, for every slot (the slots' order and sizes must stay the
  // same from step to step):
  //   p <- p - lr * weight_decay * p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
  //   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
  void step(const std::vector<ParameterSlot>& slots, float lr);

  int64_t step_count() const { return steps_; }
  const AdamWOptions& options() const { return options_; }
  // The moments, per slot (for checkpoints).
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  const std::vector<std::vector<float>>& first_moments() const { return m_; }
  const std::vector<std::vector<float>>& second_moments() const { return v_; }
  void restore(int64_t steps, std::vector<std::vector<float>> m, std::vector<std::vector<float>> v);

 private:
  AdamWOptions options_;
  int64_t steps_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

// The L2 norm over every gradient together (accumulated in double).
double global_norm(const std::vector<std::vector<float>*>& gradients);
// Scales the gradients by max_norm / norm when their global norm exceeds max_norm (> 0); returns the norm before.
double clip_by_global_norm(const std::vector<std::vector<float>*>& gradients, double max_norm);

}  // namespace gemma4::train
