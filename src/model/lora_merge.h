// Merging a LoRA adapter (read by gemma4/lora.h) into the text model's bound weights; the builder does it
// for LoadOptions::lora_adapters.
#pragma once

#include <gemma4/lora.h>

#include <cstddef>

#include "model/weights.h"

namespace gemma4 {

// Merges every target into `weights` (W + delta computed in float32, then stored in W's dtype: F32,
// BF16, F16, or re-quantized row by row for Q8_0/Q4_0; other quantized types are refused). The merged
// matrices get their own buffers, owned by weights.source. Returns the bytes written.
size_t apply_lora(ModelWeights& weights, const LoraAdapter& adapter);

}  // namespace gemma4
