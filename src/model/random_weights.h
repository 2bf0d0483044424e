// Seeded random weights for any config, in the real tensor names and shapes (tests, built-in model).
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <memory>

#include "formats/weight_source.h"

namespace gemma4 {

// Matrices ~ N(0, 1/in_features) (embeddings N(0, 0.5^2)), norm weights near 1 with q/k norms
// scaled by head_dim^-1/4 (keeps random attention from being one-hot), scalars near 1.
std::shared_ptr<WeightSource> make_random_weights(const Gemma4Config& config, uint64_t seed, DType storage);

}  // namespace gemma4
