// Builds a Backbone (text model plus any vision/audio encoder) from a loaded checkpoint; shared by
// Backbone::from_folder and CausalLM::load so both get the same model.
#pragma once

#include <gemma4/backbone.h>

#include <memory>
#include <string>

#include "formats/model_folder.h"

namespace gemma4 {

// `path` is what was loaded (its config.json, if a folder, describes the encoders).
std::unique_ptr<Backbone> make_backbone(const LoadedModel& loaded, const std::string& path);

}  // namespace gemma4
