// A small byte-level BPE vocabulary in Hugging Face tokenizer.json form, for random-weight test models
// and the built-in tiny model: Gemma's special tokens at their usual places, 256 byte-fallback tokens,
// printable ASCII, and a few merges. Real checkpoints ship their own tokenizer.json.
#pragma once

#include <gemma4/tokenizer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "schema/tokenizer_spec.h"

namespace gemma4 {

// Smallest vocabulary the synthetic tokenizer needs.
int64_t test_tokenizer_min_vocab();

struct TestVocabulary {
  std::vector<std::string> pieces;  // by id
  std::vector<bool> special;        // matched whole, dropped when decoding with skip_special
  std::vector<std::pair<std::string, std::string>> merges;  // by rank
};
TestVocabulary make_test_vocabulary(int64_t vocab_size);

// The same vocabulary as a BPE description, a ready tokenizer, and tokenizer.json text, with exactly `vocab_size`
// entries (>= test_tokenizer_min_vocab()).
text::BpeSpec make_test_bpe_spec(int64_t vocab_size);
std::unique_ptr<Tokenizer> make_test_tokenizer(int64_t vocab_size);
std::string make_test_tokenizer_json(int64_t vocab_size);

}  // namespace gemma4
