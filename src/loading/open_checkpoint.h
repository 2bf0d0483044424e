// Any model name a user can give -> one Checkpoint: a folder or GGUF file on disk, the built-in model
// ("builtin:tiny"), a named preset or a kaggle:// / hf:// handle found in the local caches.
#pragma once

#include <string>

#include "schema/checkpoint.h"

namespace gemma4 {

Checkpoint open_checkpoint(const std::string& name);

}  // namespace gemma4
