// Internal pieces of the tokenizers: the loaders behind Tokenizer::load, and a way to build a Hugging Face style
// BPE tokenizer from plain lists (for readers of other formats, e.g. GGUF's tokenizer.ggml.* keys).
#pragma once

#include <gemma4/tokenizer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/tokenizer_spec.h"

namespace gemma4::text {

std::unique_ptr<Tokenizer> make_bpe_tokenizer(BpeSpec spec);
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::string& path);
// The same from text in memory; `source` names it in messages.
std::unique_ptr<Tokenizer> parse_hf_tokenizer_json(std::string_view json, const std::string& source);
// Only the parsed description (what a checkpoint's TokenizerSource::bpe holds).
BpeSpec parse_hf_tokenizer_json_spec(std::string_view json, const std::string& source);
std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path);

// Pieces that Gemma vocabularies use as control tokens; is_special() is true for these whatever the file says.
bool is_known_gemma_control_piece(std::string_view piece);

}  // namespace gemma4::text
