// Seeded random weights for any config, in the real tensor names and shapes (tests, built-in model).
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <memory>

#include "schema/weight_source.h"

namespace gemma4 {

// Matrices ~ N(0, 1/in_features), embeddings ~ N(0, embedding_std^2), norm weights near 1 with q/k norms
// scaled by head_dim^-1/4 (keeps random attention from being one-hot), scalars near 1.
// The default embedding_std gives peaked next-token distributions, so that comparisons with other engines
// are sensitive to any architectural mistake; a small one (0.02, as models are initialised) keeps a token
// from simply predicting itself through the tied output matrix, which makes sampled demo text varied.
inline constexpr double kTestEmbeddingStd = 0.5;
inline constexpr double kDemoEmbeddingStd = 0.02;
std::shared_ptr<WeightSource> make_random_weights(const Gemma4Config& config, uint64_t seed, DType storage,
                                                   double embedding_std = kTestEmbeddingStd);

}  // namespace gemma4
