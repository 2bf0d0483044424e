// What every tokenizer shares: choosing a loader for a path, decoding, streaming, UTF-8 clean-up.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include "text/tokenizer_internal.h"

namespace gemma4 {

namespace utf8 {
namespace {

enum class Seq { Valid, Invalid, Incomplete };

// Classifies the sequence starting at p[0] (n > 0 bytes available). For Valid, *len is the character's length;
// for Invalid, the length of the maximal subpart to replace by one U+FFFD; for Incomplete, n.
Seq classify(const unsigned char* p, size_t n, size_t* len) {
  const unsigned char b = p[0];
  if (b < 0x80) {
    *len = 1;
    return Seq::Valid;
  }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 2;
  } else if (b == 0xE0) {
    need = 3, lo = 0xA0;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    need = 3;
  } else if (b == 0xED) {
    need = 3, hi = 0x9F;
  } else if (b == 0xF0) {
    need = 4, lo = 0x90;
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 4;
  } else if (b == 0xF4) {
    need = 4, hi = 0x8F;
  } else {
    *len = 1;
    return Seq::Invalid;
  }
  for (size_t k = 1; k < need; ++k) {
    if (k >= n) {
      *len = n;
      return Seq::Incomplete;
    }
    const unsigned char c = p[k];
    const unsigned char l = (k == 1) ? lo : 0x80, h = (k == 1) ? hi : 0xBF;
    if (c < l || c > h) {
      *len = k;
      return Seq::Invalid;
    }
  }
  *len = need;
  return Seq::Valid;
}

}  // namespace

size_t complete_prefix_length(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t len;
    if (classify(p + i, bytes.size() - i, &len) == Seq::Incomplete) return i;
    i += len;
  }
  return i;
}

std::string sanitize(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t len;
    if (classify(p + i, bytes.size() - i, &len) == Seq::Valid) {
      out.append(bytes.data() + i, len);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += len;
  }
  return out;
}

bool is_valid(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t len;
    if (classify(p + i, bytes.size() - i, &len) != Seq::Valid) return false;
    i += len;
  }
  return true;
}

}  // namespace utf8

Tokenizer::~Tokenizer() = default;

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  bool at_start = true;
  const size_t n_vocab = vocab_size();
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= n_vocab)
      throw Error("tokenizer " + source_ + ": cannot decode token id " + std::to_string(id) +
                  ": outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    const bool special = is_special(id);
    if (skip_special && special) continue;
    std::string piece = token_bytes(id);
    if (at_start && !special && !piece.empty()) {
      if (decode_strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
      at_start = false;
    }
    bytes += piece;
  }
  return utf8::sanitize(bytes);
}

std::vector<int32_t> Tokenizer::stop_ids() const {
  std::vector<int32_t> ids;
  for (const int32_t id : {special_.eos, special_.turn_end, special_.tool_response_start, special_.end_of_turn})
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  return ids;
}

void Tokenizer::init_special_ids() {
  auto id = [this](const char* piece) { return piece_to_id(piece); };
  special_.pad = id("<pad>");
  special_.eos = id("<eos>");
  special_.bos = id("<bos>");
  special_.unk = id("<unk>");
  special_.mask = id("<mask>");
  special_.turn_start = id("<|turn>");
  special_.turn_end = id("<turn|>");
  special_.channel_start = id("<|channel>");
  special_.channel_end = id("<channel|>");
  special_.think = id("<|think|>");
  special_.tool_declaration_start = id("<|tool>");
  special_.tool_declaration_end = id("<tool|>");
  special_.tool_call_start = id("<|tool_call>");
  special_.tool_call_end = id("<tool_call|>");
  special_.tool_response_start = id("<|tool_response>");
  special_.tool_response_end = id("<tool_response|>");
  special_.string_quote = id("<|\"|>");
  special_.image_start = id("<|image>");
  special_.image = id("<|image|>");
  special_.image_end = id("<image|>");
  special_.audio_start = id("<|audio>");
  special_.audio = id("<|audio|>");
  special_.audio_end = id("<audio|>");
  special_.video = id("<|video|>");
  special_.start_of_turn = id("<start_of_turn>");
  special_.end_of_turn = id("<end_of_turn>");
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

std::string StreamDecoder::push(int32_t id) {
  const size_t n_vocab = tokenizer_.vocab_size();
  if (id < 0 || static_cast<size_t>(id) >= n_vocab)
    throw Error("tokenizer " + tokenizer_.source() + ": cannot decode token id " + std::to_string(id) +
                ": outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
  const bool special = tokenizer_.is_special(id);
  if (skip_special_ && special) return {};
  std::string piece = tokenizer_.token_bytes(id);
  if (at_start_ && !special && !piece.empty()) {
    if (tokenizer_.decode_strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
    at_start_ = false;
  }
  pending_ += piece;
  const size_t complete = utf8::complete_prefix_length(pending_);
  if (complete == 0) return {};
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8::sanitize(pending_);
  reset();
  return out;
}

void StreamDecoder::reset() {
  pending_.clear();
  at_start_ = true;
}

namespace text {

bool is_known_gemma_control_piece(std::string_view piece) {
  static constexpr std::array<std::string_view, 31> kPieces = {
      "<pad>",          "<eos>",           "<bos>",           "<unk>",          "<mask>",
      "<|turn>",        "<turn|>",         "<start_of_turn>", "<end_of_turn>",  "<|channel>",
      "<channel|>",     "<|think|>",       "<|tool>",         "<tool|>",        "<|tool_call>",
      "<tool_call|>",   "<|tool_response>", "<tool_response|>", "<|\"|>",       "<|image>",
      "<|image|>",      "<image|>",        "<|audio>",        "<|audio|>",      "<audio|>",
      "<|video|>",      "<|video>",        "<video|>",        "<start_of_image>", "<end_of_image>",
      "<image_soft_token>"};
  if (piece.size() < 5 || piece.front() != '<' || piece.back() != '>') return false;
  return std::find(kPieces.begin(), kPieces.end(), piece) != kPieces.end();
}

}  // namespace text

}  // namespace gemma4
