#include "generate/text_stream.h"

#include <algorithm>

namespace gemma4 {
namespace {

// Length of the longest suffix of `text` that is a proper prefix of `stop` (text that must be held back
// while it could still turn into the stop string).
size_t partial_stop_suffix(const std::string& text, const std::string& stop) {
  const size_t longest = std::min(text.size(), stop.size() - 1);
  for (size_t length = longest; length > 0; --length) {
    if (text.compare(text.size() - length, length, stop, 0, length) == 0) return length;
  }
  return 0;
}

}  // namespace

TextStream::TextStream(const Tokenizer* tokenizer, const std::vector<std::string>& stop_strings)
    : stops_(stop_strings) {
  if (tokenizer) decoder_ = std::make_unique<StreamDecoder>(*tokenizer, /*skip_special=*/true);
}

std::string TextStream::push(int32_t token) {
  if (stopped_) return {};
  if (decoder_) text_ += decoder_->push(token);
  // Stop strings: cut at the first occurrence; hold back a tail that may still become one.
  size_t safe_end = text_.size();
  for (const auto& stop : stops_) {
    const auto at = text_.find(stop, emitted_ > stop.size() ? emitted_ - stop.size() : 0);
    if (at != std::string::npos) {
      text_.resize(at);
      safe_end = std::min(safe_end, at);
      stopped_ = true;
    } else {
      safe_end = std::min(safe_end, text_.size() - partial_stop_suffix(text_, stop));
    }
  }
  if (stopped_) safe_end = text_.size();
  std::string piece = safe_end > emitted_ ? text_.substr(emitted_, safe_end - emitted_) : std::string();
  emitted_ = std::max(emitted_, safe_end);
  return piece;
}

std::string TextStream::finish() {
  if (decoder_ && !stopped_) text_ += decoder_->flush();
  std::string rest = text_.size() > emitted_ ? text_.substr(emitted_) : std::string();
  emitted_ = text_.size();
  return rest;
}

}  // namespace gemma4
