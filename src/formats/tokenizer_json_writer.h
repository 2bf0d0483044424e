// Writing a BPE tokenizer description as a Hugging Face tokenizer.json, so a tokenizer that came from GGUF
// metadata travels with a converted Hugging Face folder.
#pragma once

#include <string>

#include "schema/tokenizer_spec.h"

namespace gemma4 {

std::string tokenizer_json_from_bpe_spec(const text::BpeSpec& spec);

}  // namespace gemma4
