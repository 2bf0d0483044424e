// Builds a Backbone (text model plus any vision/audio encoder) from a loaded checkpoint; shared by
// Backbone::from_folder and CausalLM::load so both get the same model.
#pragma once

#include <gemma4/backbone.h>

#include <memory>
#include <string>
#include <vector>

#include "formats/model_folder.h"

namespace gemma4 {

// `path` is what was loaded (its config.json, if a folder, describes the encoders). `lora_adapters`
// (PEFT folders / KerasHub .lora.h5 files, see gemma4/lora.h) are merged into the text weights in order.
std::unique_ptr<Backbone> make_backbone(const LoadedModel& loaded, const std::string& path,
                                        const std::vector<std::string>& lora_adapters = {});

}  // namespace gemma4
