// KerasHub Gemma4VisionAveragePooling: patches -> pool x pool average bins, then * sqrt(hidden).
#pragma once

#include <cstdint>

namespace gemma4 {

// hidden [images, patches, dim] -> out [images, patches / pool^2, dim]. A patch at (x, y) goes to bin
// x/pool + grid_width * (y/pool), grid_width = (largest x over ALL images + 1) / pool (KerasHub takes
// the whole batch; Hugging Face each image); padding patches and bins past the end are dropped.
void vision_average_pool(const float* hidden, const int32_t* positions, const uint8_t* valid, int64_t images,
                         int64_t patches, int64_t dim, int64_t pool, float* out);

}  // namespace gemma4
