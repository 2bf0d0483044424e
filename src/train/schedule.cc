#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace gemma4::train {

double LearningRateSchedule::at(int64_t step) const {
  if (warmup_steps > 0 && step <= warmup_steps) return peak * static_cast<double>(step) / static_cast<double>(warmup_steps);
  const int64_t decay_steps = total_steps - warmup_steps;
  const double floor = peak * final_ratio;
  if (decay_steps <= 0) return peak;
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace gemma4::train
