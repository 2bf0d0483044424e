#include "formats/tokenizer_json_writer.h"

#include <gemma4/error.h>

#include <nlohmann/json.hpp>

namespace gemma4 {
namespace {

using json = nlohmann::ordered_json;

json string_pattern(const std::string& text) { return json{{"String", text}}; }

json normalizer_json(const std::vector<text::NormalizerStep>& steps) {
  json list = json::array();
  for (const auto& step : steps) {
    if (step.kind == text::NormalizerStep::Kind::Replace) {
      list.push_back({{"type", "Replace"}, {"pattern", string_pattern(step.pattern)}, {"content", step.content}});
    } else {
      list.push_back({{"type", "Prepend"}, {"prepend", step.content}});
    }
  }
  if (list.empty()) return nullptr;
  if (list.size() == 1) return list[0];
  return {{"type", "Sequence"}, {"normalizers", list}};
}

const char* behavior_name(text::PreTokenizerStep::Behavior behavior) {
  using B = text::PreTokenizerStep::Behavior;
  switch (behavior) {
    case B::Removed: return "Removed";
    case B::Isolated: return "Isolated";
    case B::MergedWithPrevious: return "MergedWithPrevious";
    case B::MergedWithNext: return "MergedWithNext";
    case B::Contiguous: return "Contiguous";
  }
  return "Removed";
}

json pre_tokenizer_json(const std::vector<text::PreTokenizerStep>& steps) {
  json list = json::array();
  for (const auto& step : steps) {
    if (step.kind == text::PreTokenizerStep::Kind::Split) {
      list.push_back({{"type", "Split"}, {"pattern", string_pattern(step.pattern)},
                      {"behavior", behavior_name(step.behavior)}, {"invert", false}});
    } else {
      using P = text::PreTokenizerStep::Prepend;
      const char* scheme = step.prepend == P::Always ? "always" : step.prepend == P::First ? "first" : "never";
      list.push_back({{"type", "Metaspace"}, {"replacement", step.replacement}, {"prepend_scheme", scheme},
                      {"split", step.split}});
    }
  }
  if (list.empty()) return nullptr;
  if (list.size() == 1) return list[0];
  return {{"type", "Sequence"}, {"pretokenizers", list}};
}

json decoder_json(const text::DecoderSpec& decoder) {
  json list = json::array();
  for (const auto& [from, to] : decoder.replacements) {
    list.push_back({{"type", "Replace"}, {"pattern", string_pattern(from)}, {"content", to}});
  }
  if (decoder.byte_fallback) list.push_back({{"type", "ByteFallback"}});
  list.push_back({{"type", "Fuse"}});
  if (decoder.strip_leading_space) list.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  return {{"type", "Sequence"}, {"decoders", list}};
}

}  // namespace

std::string tokenizer_json_from_bpe_spec(const text::BpeSpec& spec) {
  json added = json::array();
  for (const auto& token : spec.added_tokens) {
    added.push_back({{"id", token.id}, {"content", token.content}, {"single_word", token.single_word},
                     {"lstrip", token.lstrip}, {"rstrip", token.rstrip}, {"normalized", token.normalized},
                     {"special", token.special}});
  }
  json vocab = json::object();
  for (const auto& [piece, id] : spec.vocab) {
    if (!vocab.contains(piece)) vocab[piece] = id;
  }
  json merges = json::array();
  for (const auto& [left, right] : spec.merges) merges.push_back(json::array({left, right}));
  json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", spec.unk_token.empty() ? json(nullptr) : json(spec.unk_token)},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", spec.fuse_unk},
                {"byte_fallback", spec.byte_fallback},
                {"ignore_merges", spec.ignore_merges},
                {"vocab", std::move(vocab)},
                {"merges", std::move(merges)}};
  json root = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", std::move(added)},
               {"normalizer", normalizer_json(spec.normalizer)},
               {"pre_tokenizer", pre_tokenizer_json(spec.pre_tokenizer)},
               {"post_processor", nullptr},
               {"decoder", decoder_json(spec.decoder)},
               {"model", std::move(model)}};
  try {
    return root.dump();
  } catch (const nlohmann::json::exception& e) {  // pieces that are not valid UTF-8
    throw Error("cannot write tokenizer " + spec.source + " as tokenizer.json: " + e.what());
  }
}

}  // namespace gemma4
