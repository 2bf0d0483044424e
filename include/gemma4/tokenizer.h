// Text <-> token ids for Gemma 4: Hugging Face tokenizer.json (BPE) and SentencePiece models.
//
//   auto tok = gemma4::Tokenizer::load("path/to/tokenizer.json");   // or a .spm/.model file, or a folder
//   std::vector<int32_t> ids = tok->encode("Hello world");           // never adds <bos> itself
//   std::string text = tok->decode(ids);
//
// Special tokens written in the text (`<bos>`, `<|turn>`, `<start_of_turn>`, ...) and every other added token
// are matched whole, before the text is normalized and split by BPE. Decoding renders every token as text,
// special ones included, unless `skip_special` is set; byte-fallback tokens (`<0xE2>`) are joined into UTF-8
// and any byte sequence that is not valid UTF-8 becomes U+FFFD, so decode() always returns valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

// Ids of the tokens Gemma uses for structure; -1 where the vocabulary has no such token. They are looked up by
// their strings in the loaded vocabulary (SentencePiece models: <bos>/<eos>/<pad>/<unk> from the model's own
// settings), never assumed. The Gemma 4 vocabulary has pad 0, eos 1, bos 2, <|turn> 105, <turn|> 106.
struct SpecialTokenIds {
  int32_t pad = -1;
  int32_t eos = -1;
  int32_t bos = -1;
  int32_t unk = -1;
  int32_t mask = -1;
  // Gemma 4 chat structure.
  int32_t turn_start = -1;           // <|turn>
  int32_t turn_end = -1;             // <turn|>
  int32_t channel_start = -1;        // <|channel>
  int32_t channel_end = -1;          // <channel|>
  int32_t think = -1;                // <|think|>
  int32_t tool_declaration_start = -1;  // <|tool>
  int32_t tool_declaration_end = -1;    // <tool|>
  int32_t tool_call_start = -1;      // <|tool_call>
  int32_t tool_call_end = -1;        // <tool_call|>
  int32_t tool_response_start = -1;  // <|tool_response>
  int32_t tool_response_end = -1;    // <tool_response|>
  int32_t string_quote = -1;         // <|"|>
  // Multimodal placeholders and delimiters.
  int32_t image_start = -1;  // <|image>
  int32_t image = -1;        // <|image|>
  int32_t image_end = -1;    // <image|>
  int32_t audio_start = -1;  // <|audio>
  int32_t audio = -1;        // <|audio|>
  int32_t audio_end = -1;    // <audio|>
  int32_t video = -1;        // <|video|>
  // Gemma 2/3 chat structure (present in older vocabularies).
  int32_t start_of_turn = -1;  // <start_of_turn>
  int32_t end_of_turn = -1;    // <end_of_turn>
};

class Tokenizer {
 public:
  virtual ~Tokenizer();

  // The tokenizer that comes with a model: any name Backbone::load accepts (a folder, a GGUF file, a preset, a
  // kaggle:// / hf:// handle). Reads no weights. Throws gemma4::Error if the model has none.
  static std::unique_ptr<Tokenizer> for_model(const std::string& model);

  // Loads a tokenizer from
  //   - a Hugging Face tokenizer.json (BPE model, as Gemma ships it),
  //   - a SentencePiece model file (.spm / .model, e.g. a KerasHub preset's vocabulary.spm),
  //   - a folder holding tokenizer.json, tokenizer.model or assets/tokenizer/vocabulary.spm (tried in that order).
  // Throws gemma4::Error naming the file and what is wrong.
  static std::unique_ptr<Tokenizer> load(const std::string& path);

  // Text to ids. Never adds <bos>; added/special tokens written in the text are matched whole (longest first).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Ids to text. Throws gemma4::Error for an id outside [0, vocab_size()).
  std::string decode(const std::vector<int32_t>& ids) const { return decode(ids, false); }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;

  // The token as stored in the vocabulary ("▁the", "<0x0A>", "<bos>"); throws for an id out of range.
  virtual std::string token_to_piece(int32_t id) const = 0;
  // Id of a vocabulary entry given as stored; -1 if absent.
  virtual int32_t piece_to_id(std::string_view piece) const = 0;
  // Number of ids (one past the largest id).
  virtual size_t vocab_size() const = 0;
  // True for control tokens (<bos>, <eos>, <pad>, <unk>, <|turn>, ...): those decode(…, skip_special=true) drops.
  virtual bool is_special(int32_t id) const = 0;

  // The raw bytes one token contributes to decoded text: "▁" becomes " ", a byte-fallback token becomes its
  // single byte (possibly part of a multi-byte character). Used by decode() and StreamDecoder.
  virtual std::string token_bytes(int32_t id) const = 0;
  // Whether decoding drops one leading space of the text (SentencePiece models with a dummy prefix).
  virtual bool decode_strips_leading_space() const { return false; }

  // "huggingface-bpe" or "sentencepiece".
  virtual std::string kind() const = 0;
  // Where it was loaded from (for messages).
  const std::string& source() const { return source_; }

  const SpecialTokenIds& special_ids() const { return special_; }
  int32_t bos_id() const { return special_.bos; }
  int32_t eos_id() const { return special_.eos; }
  int32_t pad_id() const { return special_.pad; }
  int32_t unk_id() const { return special_.unk; }
  // Ids that end a model turn when generating, those present of: <eos>, <turn|>, <|tool_response>
  // (Hugging Face's generation_config for Gemma 4), <end_of_turn> (Gemma 3 vocabularies).
  std::vector<int32_t> stop_ids() const;

 protected:
  Tokenizer() = default;
  // Fills special_ from piece_to_id(); subclasses call it at the end of loading, then may override entries.
  void init_special_ids();

  std::string source_;
  SpecialTokenIds special_;
};

// Turns ids produced one at a time into text, returning only complete UTF-8 characters: bytes of a character
// split over several byte-fallback tokens are held back until the character is complete. Invalid byte
// sequences become U+FFFD. The concatenation of every push() and the final flush() equals
// tokenizer.decode(all ids, skip_special).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false);

  // Adds one token; returns the text that became complete (possibly empty).
  std::string push(int32_t id);
  // Ends the stream: returns what is left (an incomplete character becomes U+FFFD) and resets.
  std::string flush();
  // Forgets everything pushed so far.
  void reset();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  bool at_start_ = true;
  std::string pending_;  // bytes of an incomplete UTF-8 character
};

// UTF-8 helpers shared by the tokenizers and the CLI.
namespace utf8 {
// Length of the longest prefix of `bytes` that forms complete UTF-8 characters or invalid sequences that can
// never become valid (i.e. everything except a trailing incomplete-but-valid-so-far character).
size_t complete_prefix_length(std::string_view bytes);
// Copies `bytes`, replacing each maximal invalid subpart (WHATWG / Unicode "best practice") with U+FFFD.
std::string sanitize(std::string_view bytes);
// True if `bytes` is valid UTF-8.
bool is_valid(std::string_view bytes);
}  // namespace utf8

}  // namespace gemma4
