// A checkpoint's tokenizer source -> a Tokenizer (null when the checkpoint has none).
#pragma once

#include <gemma4/tokenizer.h>

#include <memory>

#include "schema/checkpoint.h"

namespace gemma4 {

std::unique_ptr<Tokenizer> load_tokenizer(const TokenizerSource& source);

}  // namespace gemma4
