// Building the vision encoder from a checkpoint's tensors (the loader's way in; the public header only
// names the encoder's weights).
#pragma once

#include <gemma4/vision.h>

#include <memory>

#include "schema/weight_source.h"

namespace gemma4 {

// The encoder over a checkpoint's "vision_tower.*" / "embed_vision.*" tensors (checked against `config`);
// `weights` must outlive it.
std::unique_ptr<VisionEncoder> make_vision_encoder(const WeightSource& weights, const VisionConfig& config);

}  // namespace gemma4
