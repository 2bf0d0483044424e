#include "loading/test_tokenizer.h"

#include <gemma4/error.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/tokenizer_internal.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

// Special tokens, in id order from 0 (Gemma: <pad> 0, <eos> 1, <bos> 2, <unk> 3).
const std::vector<std::string>& special_tokens() {
  static const std::vector<std::string> tokens = {
      "<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|think|>",
      "<|image>", "<|image|>", "<image|>", "<|audio>", "<|audio|>", "<audio|>", "<|video|>"};
  return tokens;
}

// Plain pieces: space marker, printable ASCII, newline and tab.
std::vector<std::string> base_pieces() {
  std::vector<std::string> pieces = {"\xE2\x96\x81", "\n", "\t"};
  for (char c = '!'; c <= '~'; ++c) pieces.emplace_back(1, c);
  return pieces;
}

// Merges in priority order: "▁" + lowercase letter, then frequent English letter pairs.
std::vector<std::pair<std::string, std::string>> merge_list() {
  std::vector<std::pair<std::string, std::string>> merges;
  for (char c = 'a'; c <= 'z'; ++c) merges.emplace_back("\xE2\x96\x81", std::string(1, c));
  for (const char* pair : {"th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of",
                           "ed", "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le"}) {
    merges.emplace_back(std::string(1, pair[0]), std::string(1, pair[1]));
  }
  return merges;
}

}  // namespace

int64_t test_tokenizer_min_vocab() {
  return static_cast<int64_t>(special_tokens().size() + 256 + base_pieces().size() + merge_list().size());
}

TestVocabulary make_test_vocabulary(int64_t vocab_size) {
  if (vocab_size < test_tokenizer_min_vocab()) {
    throw Error("the synthetic test tokenizer needs a vocabulary of at least " +
                std::to_string(test_tokenizer_min_vocab()) + " tokens (config has " + std::to_string(vocab_size) + ")");
  }
  TestVocabulary vocabulary;
  auto add = [&](const std::string& piece, bool special) {
    vocabulary.pieces.push_back(piece);
    vocabulary.special.push_back(special);
  };
  for (const auto& token : special_tokens()) add(token, true);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    add(name, false);
  }
  for (const auto& piece : base_pieces()) add(piece, false);
  vocabulary.merges = merge_list();
  for (const auto& [left, right] : vocabulary.merges) add(left + right, false);
  // Fill to the model's vocabulary size with unused control tokens.
  for (int64_t id = static_cast<int64_t>(vocabulary.pieces.size()); id < vocab_size; ++id) {
    add("<unused" + std::to_string(id) + ">", true);
  }
  return vocabulary;
}

std::string make_test_tokenizer_json(int64_t vocab_size) {
  const TestVocabulary vocabulary = make_test_vocabulary(vocab_size);
  json vocab = json::object();
  json added = json::array();
  for (size_t id = 0; id < vocabulary.pieces.size(); ++id) {
    vocab[vocabulary.pieces[id]] = id;
    if (vocabulary.special[id]) {
      added.push_back({{"id", id}, {"content", vocabulary.pieces[id]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
  }
  json merges = json::array();
  for (const auto& [left, right] : vocabulary.merges) merges.push_back({left, right});
  json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}},
      {"pre_tokenizer",
       {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithPrevious"}, {"invert", false}}},
      {"post_processor", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}}}}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", merges}}}};
  return tokenizer.dump() + "\n";
}

text::BpeSpec make_test_bpe_spec(int64_t vocab_size) {
  const TestVocabulary vocabulary = make_test_vocabulary(vocab_size);
  text::BpeSpec spec = text::BpeSpec::gemma_defaults();
  spec.source = "built-in test tokenizer";
  for (size_t id = 0; id < vocabulary.pieces.size(); ++id) {
    spec.vocab.emplace_back(vocabulary.pieces[id], static_cast<int32_t>(id));
    if (vocabulary.special[id]) {
      text::AddedTokenSpec added;
      added.id = static_cast<int32_t>(id);
      added.content = vocabulary.pieces[id];
      added.special = true;
      spec.added_tokens.push_back(added);
    }
  }
  spec.merges = vocabulary.merges;
  // As in the tokenizer.json form: a split on spaces, which the normalizer has already replaced (a no-op
  // kept so both forms are the same tokenizer).
  text::PreTokenizerStep split;
  split.kind = text::PreTokenizerStep::Kind::Split;
  split.pattern = " ";
  split.behavior = text::PreTokenizerStep::Behavior::MergedWithPrevious;
  spec.pre_tokenizer.push_back(split);
  return spec;
}

std::unique_ptr<Tokenizer> make_test_tokenizer(int64_t vocab_size) {
  return text::make_bpe_tokenizer(make_test_bpe_spec(vocab_size));
}

}  // namespace gemma4
