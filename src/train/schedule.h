// The learning-rate schedule: linear warm-up, then cosine decay to a floor.
#pragma once

#include <cstdint>

namespace gemma4::train {

struct LearningRateSchedule {
  double peak = 1e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double final_ratio = 0.0;  // the floor, as a fraction of peak

  // The rate of optimizer step s (1-based): peak * s / warmup for s <= warmup; then
  // floor + (peak - floor) * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2, reaching the floor at s = total.
  double at(int64_t step) const;
};

}  // namespace gemma4::train
