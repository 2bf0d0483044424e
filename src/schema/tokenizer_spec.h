// A BPE tokenizer described as plain lists: what tokenizer.json holds once parsed, and what readers of other
// formats (GGUF's tokenizer.ggml.* keys, the built-in model) build directly. text/ turns it into a Tokenizer.
#pragma once

#include <cstdint>
#include <string>
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

}  // namespace gemma4::text
