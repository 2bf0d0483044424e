// Quantized copies of a model's large matrices, made on load (Q8_0 or Q4_0, ggml block layouts), so a
// float checkpoint can run on the int8 kernels without a separate conversion step.
#pragma once

#include <gemma4/progress.h>

#include "core/dtype.h"
#include "model/weights.h"

namespace gemma4 {

// Re-encodes every projection matrix, the per-layer-embedding projection and the output head (with the
// token embedding when tied) to `target` (Q8_0 or Q4_0). Tensors already in a block-quantized type are
// left as they are. The new bytes are owned by weights.source; the pages of the replaced originals are
// handed back to the kernel where they came from a file mapping. Returns the bytes written. `progress`, if set,
// hears of each matrix done.
size_t requantize_matrices(ModelWeights& weights, DType target, const ProgressCallback& progress = {});

}  // namespace gemma4
