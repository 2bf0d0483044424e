// train_vocab: the SentencePiece vocabulary of a small Gemma 4 model, trained with libsentencepiece and written
// in the three forms a Hugging Face Gemma 4 folder carries:
//   OUT/tokenizer.model        the SentencePiece model itself (BPE, byte fallback, no dummy prefix)
//   OUT/tokenizer.json         the same vocabulary as a Hugging Face BPE tokenizer in the shape of Gemma's
//   OUT/tokenizer_config.json  special tokens, add_bos_token false, and the chat template (--chat-template FILE)
//
//   train_vocab --input train.txt --vocab-size 4096 --out DIR [--chat-template FILE] [--threads N]
//
// Why BPE: Gemma's own tokenizer is a SentencePiece BPE model, and a BPE vocabulary has an exact tokenizer.json
// form (vocabulary + merges), which gemma4.cpp's runtime, `gemma4 convert` (GGUF) and llama.cpp all read.
//
// Gemma 4's special tokens are SentencePiece control pieces at the front (ids 0..23: <pad> <eos> <bos> <unk>,
// then <mask>, the tool, thinking, turn and media markers the chat template writes); "\n" is a user-defined
// piece (SentencePiece trains on lines, so a newline would otherwise only be reachable through byte fallback).
//
// tokenizer.json's merges come from the SentencePiece pieces as Hugging Face's converter derives them
// (transformers' convert_slow_tokenizer.py, SentencePieceExtractor): every split of a piece into two pieces that
// are both in the vocabulary, ordered by the merged piece's score (best first) and, within one piece, by the ids
// of the two halves. builtin_small_test checks that both forms encode held-out text to the same ids.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// Control pieces after <pad> <eos> <bos> <unk> (ids 0..3), in id order from 4.
const std::vector<std::string> kControlPieces = {
    "<mask>",  "<|tool>",    "<tool|>",  "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>",
    "<|\"|>",  "<|think|>",  "<|channel>", "<channel|>", "<|turn>",      "<turn|>",          "<|image>",
    "<|audio>", "<|image|>", "<|audio|>", "<image|>",    "<audio|>",     "<|video|>"};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "train_vocab: " << message << "\n";
  std::exit(1);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fail("cannot write '" + path.string() + "'");
}

// Code-point boundaries of a UTF-8 string (byte offsets, excluding 0 and size).
std::vector<size_t> char_boundaries(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 1; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  return out;
}

struct Merge {
  std::string left, right;
  float score;      // the merged piece's
  int left_id, right_id;
};

ordered_json tokenizer_json(const sentencepiece::SentencePieceProcessor& sp) {
  const int n = sp.GetPieceSize();
  std::unordered_map<std::string, int> ids;
  for (int id = 0; id < n; ++id) ids.emplace(sp.IdToPiece(id), id);
  auto is_text_piece = [&](int id) { return !sp.IsControl(id) && !sp.IsUnknown(id) && !sp.IsByte(id) && !sp.IsUnused(id); };

  std::vector<Merge> merges;
  for (int id = 0; id < n; ++id) {
    if (!is_text_piece(id)) continue;
    const std::string piece = sp.IdToPiece(id);
    std::vector<Merge> local;
    for (const size_t cut : char_boundaries(piece)) {
      const auto l = ids.find(piece.substr(0, cut)), r = ids.find(piece.substr(cut));
      if (l == ids.end() || r == ids.end() || !is_text_piece(l->second) || !is_text_piece(r->second)) continue;
      local.push_back({l->first, r->first, sp.GetScore(id), l->second, r->second});
    }
    std::sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return a.left_id != b.left_id ? a.left_id < b.left_id : a.right_id < b.right_id;
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });

  ordered_json added = ordered_json::array();
  ordered_json vocab = ordered_json::object();
  for (int id = 0; id < n; ++id) {
    vocab[sp.IdToPiece(id)] = id;
    if (sp.IsControl(id) || sp.IsUnknown(id)) {
      added.push_back({{"id", id}, {"content", sp.IdToPiece(id)}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
  }
  ordered_json merge_list = ordered_json::array();
  for (const Merge& m : merges) merge_list.push_back({m.left, m.right});

  const std::string space_mark = "\xE2\x96\x81";  // "▁"
  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space_mark}};
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithPrevious"}, {"invert", false}};
  j["post_processor"] = nullptr;  // add_bos_token is false: the chat template and the trainer write <bos>
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", space_mark}}}, {"content", " "}},
                                {{"type", "ByteFallback"}},
                                {{"type", "Fuse"}}}}};
  j["model"] = {{"type", "BPE"},       {"dropout", nullptr},   {"unk_token", "<unk>"},
                {"continuing_subword_prefix", nullptr},       {"end_of_word_suffix", nullptr},
                {"fuse_unk", true},    {"byte_fallback", true}, {"ignore_merges", false},
                {"vocab", vocab},      {"merges", merge_list}};
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args = {{"--vocab-size", "4096"}, {"--threads", "2"}};
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key != "--input" && key != "--vocab-size" && key != "--out" && key != "--chat-template" && key != "--threads")
      fail("unknown argument '" + key + "' (usage: train_vocab --input FILE --vocab-size N --out DIR "
           "[--chat-template FILE] [--threads N])");
    if (i + 1 >= argc) fail(key + " needs a value");
    args[key] = argv[++i];
  }
  if (!args.count("--input") || !args.count("--out")) fail("--input and --out are required");
  const fs::path out = args["--out"];
  fs::create_directories(out);

  std::string controls;
  for (const auto& p : kControlPieces) controls += (controls.empty() ? "" : ",") + p;
  const std::string prefix = (out / "tokenizer").string();
  const std::unordered_map<std::string, std::string> spec = {
      {"input", args["--input"]},
      {"model_prefix", prefix},
      {"model_type", "bpe"},
      {"vocab_size", args["--vocab-size"]},
      {"character_coverage", "1.0"},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"allow_whitespace_only_pieces", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"max_sentence_length", "16384"},
      {"num_threads", args["--threads"]},
      {"pad_id", "0"}, {"eos_id", "1"}, {"bos_id", "2"}, {"unk_id", "3"},
      {"pad_piece", "<pad>"}, {"eos_piece", "<eos>"}, {"bos_piece", "<bos>"}, {"unk_piece", "<unk>"},
      {"control_symbols", controls},
      {"user_defined_symbols", "\n"},
      {"minloglevel", "1"},
  };
  const auto status = sentencepiece::SentencePieceTrainer::Train(spec);
  if (!status.ok()) fail("libsentencepiece training failed: " + std::string(status.message()));
  fs::remove(prefix + ".vocab");  // the human-readable listing; tokenizer.model holds everything

  sentencepiece::SentencePieceProcessor sp;
  const auto loaded = sp.Load(prefix + ".model");
  if (!loaded.ok()) fail("cannot load the trained model: " + std::string(loaded.message()));
  for (size_t i = 0; i < kControlPieces.size(); ++i) {
    if (sp.PieceToId(kControlPieces[i]) != static_cast<int>(i) + 4 || !sp.IsControl(static_cast<int>(i) + 4))
      fail("control piece '" + kControlPieces[i] + "' is not at id " + std::to_string(i + 4));
  }
  write_text(out / "tokenizer.json", tokenizer_json(sp).dump());

  ordered_json config = {{"tokenizer_class", "GemmaTokenizer"}, {"add_bos_token", false}, {"add_eos_token", false},
                         {"bos_token", "<bos>"}, {"eos_token", "<eos>"}, {"pad_token", "<pad>"},
                         {"unk_token", "<unk>"}, {"mask_token", "<mask>"}, {"padding_side", "left"},
                         {"clean_up_tokenization_spaces", false}};
  if (args.count("--chat-template")) config["chat_template"] = read_text(args["--chat-template"]);
  write_text(out / "tokenizer_config.json", config.dump(2) + "\n");
  std::cout << "train_vocab: " << sp.GetPieceSize() << " pieces -> " << out.string()
            << "/{tokenizer.model,tokenizer.json,tokenizer_config.json}\n";
  return 0;
}
