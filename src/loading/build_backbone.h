// The one builder: a Checkpoint plus LoadOptions -> a Backbone (text model and any vision/audio encoder).
// Backbone::load / from_folder / from_config, backbone_from_preset, CausalLM::load, bench, convert and the
// server all come through here, so the same folder gives the same model whichever door it came in by.
#pragma once

#include <gemma4/backbone.h>
#include <gemma4/load_options.h>

#include <memory>

#include "schema/checkpoint.h"

namespace gemma4 {

// What the options change in the architecture alone (overrides, dtype, the encoders' widths), validated;
// no weights are touched.
void apply_architecture_options(Checkpoint& checkpoint, const LoadOptions& options, bool validate = true);

// Applies `options` to the checkpoint in place, as the builder does before binding (overrides, random
// weights when !load_weights or when the checkpoint has none, dtype, the encoders' widths). Exposed so that
// convert can write exactly what would be built.
void prepare_checkpoint(Checkpoint& checkpoint, const LoadOptions& options);

std::unique_ptr<Backbone> build_backbone(Checkpoint checkpoint, const LoadOptions& options);

}  // namespace gemma4
