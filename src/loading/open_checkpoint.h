// Any model name a user can give -> one Checkpoint: a folder or GGUF file on disk, the built-in model
// ("builtin:tiny", "builtin:small"), a named preset or a kaggle:// / hf:// / modelscope:// handle, from the local
// caches or downloaded into them (options.allow_download, options.progress).
#pragma once

#include <gemma4/load_options.h>

#include <string>

#include "schema/checkpoint.h"

namespace gemma4 {

Checkpoint open_checkpoint(const std::string& name, const LoadOptions& options = {});

// Adds the encoders of options.mmproj (or of the one mmproj*.gguf beside a GGUF model file) to `checkpoint`
// (formats/gguf_mmproj.h). Nothing is read when options.load_weights is false or options.mmproj is "none".
void attach_mmproj(Checkpoint& checkpoint, const LoadOptions& options);

}  // namespace gemma4
