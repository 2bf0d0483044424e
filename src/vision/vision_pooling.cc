#include "vision/vision_pooling.h"

#include <algorithm>
#include <cmath>

namespace gemma4 {

void vision_average_pool(const float* hidden, const int32_t* positions, const uint8_t* valid, int64_t images,
                         int64_t patches, int64_t dim, int64_t pool, float* out) {
  const int64_t tokens = patches / (pool * pool);
  int64_t max_x = -1;
  for (int64_t i = 0; i < images * patches; ++i) max_x = std::max<int64_t>(max_x, positions[2 * i]);
  const int64_t grid_width = (max_x + 1) / pool;
  const float inv_area = 1.0f / static_cast<float>(pool * pool);
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(dim)));  // a float32 scalar in KerasHub
  std::fill(out, out + images * tokens * dim, 0.0f);
  for (int64_t image = 0; image < images; ++image) {
    float* bins = out + image * tokens * dim;
    for (int64_t p = 0; p < patches; ++p) {
      const int64_t i = image * patches + p;
      if (!valid[i]) continue;
      const int64_t x = std::max<int64_t>(positions[2 * i], 0);
      const int64_t y = std::max<int64_t>(positions[2 * i + 1], 0);
      const int64_t bin = x / pool + grid_width * (y / pool);
      if (bin >= tokens) continue;
      const float* row = hidden + i * dim;
      for (int64_t d = 0; d < dim; ++d) bins[bin * dim + d] += row[d] * inv_area;
    }
    for (int64_t j = 0; j < tokens * dim; ++j) bins[j] *= scale;
  }
}

}  // namespace gemma4
