// Generated token ids -> the text a caller streams: decoded (special tokens skipped), cut before the first
// stop string, with a tail that may still become one held back until it cannot. CausalLM::generate and
// BatchGenerator both stream through it.
#pragma once

#include <gemma4/tokenizer.h>

#include <memory>
#include <string>
#include <vector>

namespace gemma4 {

class TextStream {
 public:
  // Without a tokenizer no text comes out (token ids only).
  TextStream(const Tokenizer* tokenizer, const std::vector<std::string>& stop_strings);

  // Adds a generated token; returns the text that became certain with it (may be empty). After a stop string
  // appeared, stopped() is true and the text ends before it.
  std::string push(int32_t token);
  bool stopped() const { return stopped_; }
  // Generation ended: the rest (what was held back, the decoder's last bytes unless a stop string ended it).
  std::string finish();
  const std::string& text() const { return text_; }

 private:
  std::unique_ptr<StreamDecoder> decoder_;
  const std::vector<std::string>& stops_;
  std::string text_;     // everything decoded so far
  size_t emitted_ = 0;   // how much of text_ has been returned
  bool stopped_ = false;
};

}  // namespace gemma4
