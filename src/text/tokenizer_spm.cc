// SentencePiece models (.spm / .model), e.g. a KerasHub preset's assets/tokenizer/vocabulary.spm, through
// libsentencepiece.
//
// libsentencepiece matches USER_DEFINED pieces whole by itself but never matches CONTROL pieces (<bos>,
// <start_of_turn>, ...) written in the text. To give every tokenizer the same contract ("special tokens in
// the text are matched whole"), control pieces are cut out first (longest first) and each stretch between them
// is encoded on its own, with the model's normalizer: a model with a dummy "▁" prefix (like the KerasHub test
// vocabulary) treats a control piece as a text boundary, "<bos>the fox" -> <bos> ▁the ▁fox. Gemma 4's own
// SentencePiece model has no dummy prefix and no whitespace folding, so there this matches tokenizer.json.
//
// The model file is a protobuf; we read the few fields we need (piece types, normalizer flags) ourselves,
// since libsentencepiece does not install its generated protobuf headers.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <sentencepiece_processor.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/file_io.h"
#include "text/tokenizer_internal.h"

namespace gemma4::text {

namespace {

// Minimal protobuf wire-format reading.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& file) : data_(data), file_(file) {}

  bool done() const { return pos_ >= data_.size(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail("truncated varint");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint too long");
  }

  // Reads a field key; returns the wire type and sets *field.
  int key(uint32_t* field) {
    const uint64_t k = varint();
    *field = static_cast<uint32_t>(k >> 3);
    if (*field == 0) fail("field number 0");
    return static_cast<int>(k & 7);
  }

  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > data_.size() - pos_) fail("length-delimited field runs past the end");
    const std::string_view v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }

  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: fail("unsupported wire type " + std::to_string(wire_type));
    }
  }

  size_t pos() const { return pos_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("tokenizer " + file_ + ": not a valid SentencePiece model (" + what + " at byte " +
                std::to_string(pos_) + ")");
  }

 private:
  void advance(size_t n) {
    if (n > data_.size() - pos_) fail("fixed-size field runs past the end");
    pos_ += n;
  }
  std::string_view data_;
  const std::string& file_;
  size_t pos_ = 0;
};

enum PieceType : uint8_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& path, const std::string& data) {
    source_ = path;
    // Pieces, their types, and the normalizer flags.
    ProtoReader top(data, path);
    while (!top.done()) {
      uint32_t field;
      const int wire = top.key(&field);
      if (field == 1 && wire == 2) {
        ProtoReader piece_reader(top.bytes(), path);
        std::string piece;
        uint8_t type = kNormal;
        while (!piece_reader.done()) {
          uint32_t f;
          const int w = piece_reader.key(&f);
          if (f == 1 && w == 2) {
            piece = std::string(piece_reader.bytes());
          } else if (f == 3 && w == 0) {
            type = static_cast<uint8_t>(piece_reader.varint());
          } else {
            piece_reader.skip(w);
          }
        }
        pieces_.push_back(std::move(piece));
        types_.push_back(type);
      } else if (field == 3 && wire == 2) {  // normalizer_spec
        const std::string_view spec = top.bytes();
        ProtoReader spec_reader(spec, path);
        while (!spec_reader.done()) {
          uint32_t f;
          const int w = spec_reader.key(&f);
          if (f == 3 && w == 0) {
            add_dummy_prefix_ = spec_reader.varint() != 0;
          } else if (f == 4 && w == 0) {
            remove_extra_whitespaces_ = spec_reader.varint() != 0;
          } else {
            spec_reader.skip(w);
          }
        }
      } else {
        top.skip(wire);
      }
    }
    if (pieces_.empty()) throw Error("tokenizer " + path + ": not a valid SentencePiece model (no pieces)");

    // libsentencepiece's trie builder throws (Darts::Details::Exception) on an empty piece instead of returning a
    // status; such a model is refused here first, and anything else it throws becomes our error.
    for (size_t id = 0; id < pieces_.size(); ++id) {
      if (pieces_[id].empty() && types_[id] != kControl) {
        throw Error("tokenizer " + path + ": not a valid SentencePiece model (piece " + std::to_string(id) + " is empty)");
      }
    }
    sentencepiece::util::Status status;
    try {
      status = processor_.LoadFromSerializedProto(data);
    } catch (const std::exception& e) {
      throw Error("tokenizer " + path + ": libsentencepiece cannot load it: " + e.what());
    }
    if (!status.ok())
      throw Error("tokenizer " + path + ": libsentencepiece cannot load it: " + std::string(status.message()));
    if (static_cast<size_t>(processor_.GetPieceSize()) != pieces_.size())
      throw Error("tokenizer " + path + ": libsentencepiece reports " + std::to_string(processor_.GetPieceSize()) +
                  " pieces, the file holds " + std::to_string(pieces_.size()));

    index_.reserve(pieces_.size() * 2);
    for (size_t id = 0; id < pieces_.size(); ++id) {
      index_.emplace(pieces_[id], static_cast<int32_t>(id));  // first occurrence wins
      if (types_[id] == kControl && !pieces_[id].empty()) control_ids_.push_back(static_cast<int32_t>(id));
    }
    std::sort(control_ids_.begin(), control_ids_.end(),
              [this](int32_t a, int32_t b) { return pieces_[a].size() > pieces_[b].size(); });
    for (const int32_t id : control_ids_) control_first_byte_[static_cast<unsigned char>(pieces_[id][0])] = true;

    init_special_ids();
    if (processor_.bos_id() >= 0) special_.bos = processor_.bos_id();
    if (processor_.eos_id() >= 0) special_.eos = processor_.eos_id();
    if (processor_.pad_id() >= 0) special_.pad = processor_.pad_id();
    if (processor_.unk_id() >= 0) special_.unk = processor_.unk_id();
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> out;
    size_t stretch_start = 0, i = 0;
    while (i < text.size()) {
      int32_t hit = -1;
      if (control_first_byte_[static_cast<unsigned char>(text[i])]) {
        for (const int32_t id : control_ids_) {  // longest first
          const std::string& p = pieces_[id];
          if (text.compare(i, p.size(), p) == 0) {
            hit = id;
            break;
          }
        }
      }
      if (hit < 0) {
        ++i;
        continue;
      }
      encode_stretch(text.substr(stretch_start, i - stretch_start), out);
      out.push_back(hit);
      i += pieces_[hit].size();
      stretch_start = i;
    }
    encode_stretch(text.substr(stretch_start), out);
    return out;
  }

  std::string token_to_piece(int32_t id) const override {
    check_id(id);
    return pieces_[id];
  }

  int32_t piece_to_id(std::string_view piece) const override {
    const auto it = index_.find(std::string(piece));
    return it == index_.end() ? -1 : it->second;
  }

  size_t vocab_size() const override { return pieces_.size(); }

  bool is_special(int32_t id) const override {
    check_id(id);
    return types_[id] == kControl || types_[id] == kUnknown || is_known_gemma_control_piece(pieces_[id]);
  }

  std::string token_bytes(int32_t id) const override {
    check_id(id);
    const std::string& piece = pieces_[id];
    if (types_[id] == kByte && piece.size() == 6 && piece.compare(0, 3, "<0x") == 0) {
      return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
    }
    if (types_[id] == kControl || types_[id] == kUnknown) return piece;
    std::string out;
    out.reserve(piece.size());
    for (size_t i = 0; i < piece.size();) {
      if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
        out.push_back(' ');
        i += 3;
      } else {
        out.push_back(piece[i++]);
      }
    }
    return out;
  }

  bool decode_strips_leading_space() const override { return add_dummy_prefix_ || remove_extra_whitespaces_; }
  std::string kind() const override { return "sentencepiece"; }

 private:
  void check_id(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size())
      throw Error("tokenizer " + source_ + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(pieces_.size()) + ")");
  }

  void encode_stretch(std::string_view stretch, std::vector<int32_t>& out) const {
    if (stretch.empty()) return;
    std::vector<int> ids;
    const auto status = processor_.Encode(std::string(stretch), &ids);
    if (!status.ok()) throw Error("tokenizer " + source_ + ": libsentencepiece failed: " + std::string(status.message()));
    out.insert(out.end(), ids.begin(), ids.end());
  }

  sentencepiece::SentencePieceProcessor processor_;
  std::vector<std::string> pieces_;
  std::vector<uint8_t> types_;
  std::unordered_map<std::string, int32_t> index_;
  std::vector<int32_t> control_ids_;
  bool control_first_byte_[256] = {};
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path) {
  const std::string data = read_file(path);
  if (data.empty()) throw Error("tokenizer " + path + ": the file is empty");
  return std::make_unique<SentencePieceTokenizer>(path, data);
}

}  // namespace gemma4::text
