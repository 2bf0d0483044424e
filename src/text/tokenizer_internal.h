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

namespace gemma4::text {

// One entry of tokenizer.json's "added_tokens": matched whole in the input before normalization (or after it,
// when `normalized` is set), longest match first.
struct AddedTokenSpec {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A text transformation step of tokenizer.json's "normalizer" that we support.
struct NormalizerStep {
  enum class Kind { Replace, Prepend } kind = Kind::Replace;
  std::string pattern;  // Replace: the literal string to find
  std::string content;  // Replace: replacement; Prepend: the prefix
};

// A step of tokenizer.json's "pre_tokenizer" that we support.
struct PreTokenizerStep {
  enum class Kind { Split, Metaspace } kind = Kind::Split;
  // Split: literal pattern and behavior.
  std::string pattern;
  enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous } behavior =
      Behavior::Removed;
  // Metaspace.
  std::string replacement = "\xE2\x96\x81";  // "▁"
  enum class Prepend { Always, First, Never } prepend = Prepend::Always;
  bool split = true;
};

// What the "decoder" does to each token, in the Gemma-style shape Replace* → ByteFallback → Fuse → Strip.
struct DecoderSpec {
  std::vector<std::pair<std::string, std::string>> replacements;  // applied to each token, in order
  bool byte_fallback = false;         // "<0xXX>" tokens become one byte
  bool strip_leading_space = false;   // Strip(" ", 1, 0) after Fuse, or Metaspace: one leading space removed
};

// Everything a BPE tokenizer needs, already parsed.
struct BpeSpec {
  std::string source;                                      // file name for messages
  std::vector<std::pair<std::string, int32_t>> vocab;      // piece, id
  std::vector<std::pair<std::string, std::string>> merges; // in rank order (rank = index)
  std::vector<AddedTokenSpec> added_tokens;
  std::string unk_token;  // empty: none
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  DecoderSpec decoder;

  // The shape Gemma's tokenizer.json has: " " → "▁", no pre-split, decoder "▁" → " " + byte fallback.
  static BpeSpec gemma_defaults();
};

std::unique_ptr<Tokenizer> make_bpe_tokenizer(BpeSpec spec);
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::string& path);
// The same from text in memory; `source` names it in messages.
std::unique_ptr<Tokenizer> parse_hf_tokenizer_json(std::string_view json, const std::string& source);
std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path);

// Pieces that Gemma vocabularies use as control tokens; is_special() is true for these whatever the file says.
bool is_known_gemma_control_piece(std::string_view piece);

}  // namespace gemma4::text
