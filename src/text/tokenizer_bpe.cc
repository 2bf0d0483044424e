// Hugging Face tokenizer.json with a BPE model, as Gemma ships it.
//
// Pipeline of encode() (the order of Hugging Face `tokenizers`):
//   1. added tokens whose "normalized" is false are cut out of the raw text, leftmost match first and the
//      longest match at that position (they become their ids as they are);
//   2. every other stretch is normalized (Gemma: " " → "▁"), then cut again by "normalized" added tokens;
//   3. the pre-tokenizer splits it into words (Gemma's Split on " " finds nothing after step 2, so a whole
//      stretch is one word);
//   4. each word goes through BPE: start from its characters, repeatedly merge the adjacent pair with the
//      lowest merge rank (leftmost first on ties), using a heap over a linked list (O(n log n));
//   5. characters that stay outside the vocabulary become byte tokens "<0xXX>" (byte_fallback) or <unk>.
//
// The file is read by a small purpose-built JSON reader: the vocabulary (262k entries) and merges (515k) are
// decoded straight into flat tables, the small sections go through nlohmann::json. Loading the real Gemma
// tokenizer.json takes a fraction of a second.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file_io.h"
#include "text/tokenizer_internal.h"

namespace gemma4::text {

namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // "▁"

// ------------------------------------------------------------------------------------------------------------
// Hashing and flat hash tables.

inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (s.size() * 0x100000001B3ULL);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, s.data() + i, 8);
    h = (h ^ chunk) * 0x100000001B3ULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < s.size(); ++k) tail |= uint64_t(static_cast<unsigned char>(s[i + k])) << (8 * k);
  h = (h ^ tail) * 0x100000001B3ULL;
  return mix64(h);
}

inline size_t capacity_for(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

// piece → id. Keys of up to 22 bytes live in the slot itself (one cache line visit per lookup); longer ones
// are compared with pieces[id].
class PieceIndex {
 public:
  void init(const std::vector<std::string>* pieces, size_t expected) {
    pieces_ = pieces;
    slots_.assign(capacity_for(expected), Slot{});
    mask_ = slots_.size() - 1;
  }

  int32_t find(std::string_view key) const { return find(key, hash_bytes(key)); }

  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }

  int32_t find(std::string_view key, uint64_t h) const {
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && equal(s, key)) return s.id;
    }
  }

  // Inserts pieces[id]; an existing equal key is re-pointed to `id` when `replace` is set.
  void insert(int32_t id, bool replace) { insert(id, replace, hash_bytes((*pieces_)[id])); }

  void insert(int32_t id, bool replace, uint64_t h) {
    const std::string& key = (*pieces_)[id];
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        fill(s, id, tag, key);
        ++size_;
        if (size_ * 2 > slots_.size()) grow();
        return;
      }
      if (s.tag == tag && equal(s, key)) {
        if (replace) fill(s, id, tag, key);
        return;
      }
    }
  }

 private:
  static constexpr size_t kInline = 22;
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;
    uint8_t len = 0;  // key length if <= kInline, else 255
    char key[kInline + 1] = {};
  };
  static_assert(sizeof(Slot) == 32);

  static void fill(Slot& s, int32_t id, uint32_t tag, std::string_view key) {
    s.tag = tag;
    s.id = id;
    if (key.size() <= kInline) {
      s.len = static_cast<uint8_t>(key.size());
      std::memcpy(s.key, key.data(), key.size());
    } else {
      s.len = 255;
    }
  }

  bool equal(const Slot& s, std::string_view key) const {
    if (s.len != 255) return s.len == key.size() && std::memcmp(s.key, key.data(), key.size()) == 0;
    return key.size() > kInline && (*pieces_)[s.id] == key;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      const uint64_t h = hash_bytes((*pieces_)[s.id]);
      size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  const std::vector<std::string>* pieces_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// (left id, right id) → (rank, merged id).
class MergeTable {
 public:
  struct Value {
    int32_t rank;
    int32_t merged;
  };

  void init(size_t expected) {
    entries_.assign(capacity_for(expected), Entry{kEmpty, Value{-1, -1}});
    mask_ = entries_.size() - 1;
  }

  void prefetch(int32_t left, int32_t right) const {
    __builtin_prefetch(&entries_[mix64(make_key(left, right)) & mask_]);
  }

  void insert_or_assign(int32_t left, int32_t right, Value v) {
    const uint64_t key = make_key(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      Entry& e = entries_[i];
      if (e.key == kEmpty || e.key == key) {
        e.key = key;
        e.value = v;
        return;
      }
    }
  }

  const Value* find(int32_t left, int32_t right) const {
    const uint64_t key = make_key(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.key == key) return &e.value;
      if (e.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Entry {
    uint64_t key;
    Value value;
  };
  static uint64_t make_key(int32_t a, int32_t b) {
    return (uint64_t(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  std::vector<Entry> entries_;
  size_t mask_ = 0;
};

// Added tokens, matched on bytes: at each position the longest token starting there. A byte trie whose edges
// are sorted by (parent, byte) once all tokens are in, so a step is a binary search among a node's children.
class AddedTokenMatcher {
 public:
  void add(std::string_view content, int32_t index) {
    if (content.empty()) return;
    int32_t node = 0;
    for (const char ch : content) {
      const unsigned char b = static_cast<unsigned char>(ch);
      const uint64_t key = (uint64_t(node) << 8) | b;
      auto it = building_.find(key);
      if (it == building_.end()) {
        const int32_t child = static_cast<int32_t>(terminal_.size());
        terminal_.push_back(-1);
        edges_.push_back(Edge{node, b, child});
        it = building_.emplace(key, child).first;
      }
      node = it->second;
    }
    terminal_[node] = index;  // a later token with the same content wins
    first_byte_[static_cast<unsigned char>(content[0])] = true;
  }

  // Call once after the last add().
  void finish() {
    building_.clear();
    std::sort(edges_.begin(), edges_.end(), [](const Edge& a, const Edge& b) {
      return a.parent != b.parent ? a.parent < b.parent : a.byte < b.byte;
    });
    first_edge_.assign(terminal_.size() + 1, 0);
    for (const Edge& e : edges_) ++first_edge_[e.parent + 1];
    for (size_t i = 1; i < first_edge_.size(); ++i) first_edge_[i] += first_edge_[i - 1];
  }

  bool empty() const { return edges_.empty(); }
  bool may_start(unsigned char b) const { return first_byte_[b]; }

  // Longest match at text[pos...]: returns the token index and sets *len, or -1.
  int32_t match(std::string_view text, size_t pos, size_t* len) const {
    int32_t node = 0, best = -1;
    for (size_t i = pos; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node < 0) break;
      if (terminal_[node] >= 0) {
        best = terminal_[node];
        *len = i + 1 - pos;
      }
    }
    return best;
  }

 private:
  struct Edge {
    int32_t parent;
    unsigned char byte;
    int32_t child;
  };

  int32_t child(int32_t node, unsigned char b) const {
    const Edge* lo = edges_.data() + first_edge_[node];
    const Edge* const end = edges_.data() + first_edge_[node + 1];
    const Edge* hi = end;
    while (lo < hi) {
      const Edge* mid = lo + (hi - lo) / 2;
      if (mid->byte < b) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return (lo < end && lo->byte == b) ? lo->child : -1;
  }

  std::vector<int32_t> terminal_{-1};  // token index per node; node 0 is the root
  std::vector<Edge> edges_;
  std::vector<uint32_t> first_edge_{0, 0};  // edges of node n: [first_edge_[n], first_edge_[n + 1])
  std::unordered_map<uint64_t, int32_t> building_;  // (node, byte) -> child while adding
  std::array<bool, 256> first_byte_{};
};

// ------------------------------------------------------------------------------------------------------------
// Reading the sections of tokenizer.json.

[[noreturn]] void unsupported(const std::string& file, const std::string& what) {
  throw Error("tokenizer " + file + ": " + what + " is not supported");
}

std::string literal_pattern(const nlohmann::json& pattern, const std::string& file, const char* where) {
  if (!pattern.is_object()) throw Error("tokenizer " + file + ": " + where + " has no \"pattern\" object");
  if (pattern.contains("String") && pattern["String"].is_string()) return pattern["String"].get<std::string>();
  if (pattern.contains("Regex")) unsupported(file, std::string(where) + " with a Regex pattern");
  throw Error("tokenizer " + file + ": " + where + " has a pattern that is neither String nor Regex");
}

std::string type_of(const nlohmann::json& j, const std::string& file, const char* section) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error("tokenizer " + file + ": \"" + section + "\" entry has no \"type\"");
  return j["type"].get<std::string>();
}

void parse_normalizer(const nlohmann::json& j, const std::string& file, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = type_of(j, file, "normalizer");
  if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      throw Error("tokenizer " + file + ": normalizer Sequence has no \"normalizers\" list");
    for (const auto& sub : j["normalizers"]) parse_normalizer(sub, file, out);
  } else if (type == "Replace") {
    NormalizerStep step;
    step.kind = NormalizerStep::Kind::Replace;
    step.pattern = literal_pattern(j.value("pattern", nlohmann::json()), file, "normalizer Replace");
    step.content = j.value("content", std::string());
    if (step.pattern.empty()) throw Error("tokenizer " + file + ": normalizer Replace has an empty pattern");
    out.push_back(std::move(step));
  } else if (type == "Prepend") {
    NormalizerStep step;
    step.kind = NormalizerStep::Kind::Prepend;
    step.content = j.value("prepend", std::string());
    out.push_back(std::move(step));
  } else {
    unsupported(file, "normalizer type '" + type + "'");
  }
}

void parse_pre_tokenizer(const nlohmann::json& j, const std::string& file, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = type_of(j, file, "pre_tokenizer");
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      throw Error("tokenizer " + file + ": pre_tokenizer Sequence has no \"pretokenizers\" list");
    for (const auto& sub : j["pretokenizers"]) parse_pre_tokenizer(sub, file, out);
  } else if (type == "Split") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::Split;
    step.pattern = literal_pattern(j.value("pattern", nlohmann::json()), file, "pre_tokenizer Split");
    if (step.pattern.empty()) throw Error("tokenizer " + file + ": pre_tokenizer Split has an empty pattern");
    if (j.value("invert", false)) unsupported(file, "pre_tokenizer Split with invert=true");
    const std::string behavior = j.value("behavior", std::string("Removed"));
    using B = PreTokenizerStep::Behavior;
    if (behavior == "Removed") {
      step.behavior = B::Removed;
    } else if (behavior == "Isolated") {
      step.behavior = B::Isolated;
    } else if (behavior == "MergedWithPrevious") {
      step.behavior = B::MergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      step.behavior = B::MergedWithNext;
    } else if (behavior == "Contiguous") {
      step.behavior = B::Contiguous;
    } else {
      unsupported(file, "pre_tokenizer Split behavior '" + behavior + "'");
    }
    out.push_back(std::move(step));
  } else if (type == "Metaspace") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::Metaspace;
    step.replacement = j.value("replacement", std::string(kMetaspace));
    step.split = j.value("split", true);
    std::string scheme = j.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = j.value("add_prefix_space", true) ? "always" : "never";
    if (scheme == "always") {
      step.prepend = PreTokenizerStep::Prepend::Always;
    } else if (scheme == "first") {
      step.prepend = PreTokenizerStep::Prepend::First;
    } else if (scheme == "never") {
      step.prepend = PreTokenizerStep::Prepend::Never;
    } else {
      unsupported(file, "Metaspace prepend_scheme '" + scheme + "'");
    }
    out.push_back(std::move(step));
  } else {
    unsupported(file, "pre_tokenizer type '" + type + "'");
  }
}

void parse_decoder_step(const nlohmann::json& j, const std::string& file, DecoderSpec& out, bool& fused) {
  const std::string type = type_of(j, file, "decoder");
  if (type == "Sequence") {
    if (!j.contains("decoders") || !j["decoders"].is_array())
      throw Error("tokenizer " + file + ": decoder Sequence has no \"decoders\" list");
    for (const auto& sub : j["decoders"]) parse_decoder_step(sub, file, out, fused);
  } else if (type == "Replace") {
    out.replacements.emplace_back(literal_pattern(j.value("pattern", nlohmann::json()), file, "decoder Replace"),
                                  j.value("content", std::string()));
  } else if (type == "ByteFallback") {
    out.byte_fallback = true;
  } else if (type == "Fuse") {
    fused = true;
  } else if (type == "Strip") {
    const std::string content = j.value("content", std::string(" "));
    const int start = j.value("start", 0), stop = j.value("stop", 0);
    if (content != " " || stop != 0 || start > 1 || (start == 1 && !fused))
      unsupported(file, "decoder Strip other than Strip(\" \", 1, 0) after Fuse");
    if (start == 1) out.strip_leading_space = true;
  } else if (type == "Metaspace") {
    out.replacements.emplace_back(j.value("replacement", std::string(kMetaspace)), " ");
    std::string scheme = j.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = j.value("add_prefix_space", true) ? "always" : "never";
    if (scheme != "never") out.strip_leading_space = true;
  } else {
    unsupported(file, "decoder type '" + type + "'");
  }
}

void parse_added_tokens(const nlohmann::json& tokens, const std::string& file, std::vector<AddedTokenSpec>& out) {
  if (tokens.is_null()) return;
  if (!tokens.is_array()) throw Error("tokenizer " + file + ": \"added_tokens\" is not a list");
  for (const nlohmann::json& j : tokens) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer() || !j.contains("content") ||
        !j["content"].is_string())
      throw Error("tokenizer " + file + ": an added_tokens entry lacks an integer \"id\" or a string \"content\": " +
                  j.dump().substr(0, 200));
    AddedTokenSpec t;
    if (j["id"].get<int64_t>() > 0x7FFFFFF)  // the vocab's id limit
      throw Error("tokenizer " + file + ": added token id " + j["id"].dump() + " is out of range");
    t.id = j["id"].get<int32_t>();
    t.content = j["content"].get<std::string>();
    t.special = j.value("special", false);
    t.normalized = j.value("normalized", !t.special);
    t.lstrip = j.value("lstrip", false);
    t.rstrip = j.value("rstrip", false);
    t.single_word = j.value("single_word", false);
    if (t.id < 0) throw Error("tokenizer " + file + ": added token '" + t.content + "' has a negative id");
    out.push_back(std::move(t));
  }
}

void parse_vocab(const nlohmann::json& vocab, const std::string& file, BpeSpec& spec) {
  spec.vocab.reserve(vocab.size());
  for (const auto& [piece, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 0x7FFFFFF) {
      throw Error("tokenizer " + file + ": vocab entry '" + piece + "' has id " + id.dump() +
                  ", not an integer in range");
    }
    spec.vocab.emplace_back(piece, id.get<int32_t>());
  }
}

void parse_merges(const nlohmann::json& merges, const std::string& file, BpeSpec& spec) {
  if (!merges.is_array()) throw Error("tokenizer " + file + ": \"merges\" is not a list");
  spec.merges.reserve(merges.size());
  for (const nlohmann::json& merge : merges) {
    const std::string where = "tokenizer " + file + ": merge #" + std::to_string(spec.merges.size());
    if (merge.is_string()) {  // "a b"
      const std::string& both = merge.get_ref<const std::string&>();
      const size_t space = both.find(' ', 1);
      if (space == std::string::npos) throw Error(where + " \"" + both + "\" is not two tokens separated by a space");
      if (both.find(' ', space + 1) != std::string::npos) throw Error(where + " \"" + both + "\" has more than two tokens");
      spec.merges.emplace_back(both.substr(0, space), both.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {  // ["a", "b"]
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw Error(where + " is neither \"a b\" nor [\"a\", \"b\"]: " + merge.dump().substr(0, 100));
    }
  }
}

void parse_model(const nlohmann::json& model, const std::string& file, BpeSpec& spec) {
  if (!model.is_object()) throw Error("tokenizer " + file + ": \"model\" is not an object");
  std::string type = model.value("type", std::string());
  if (type.empty() && model.contains("merges")) type = "BPE";
  if (type != "BPE")
    throw Error("tokenizer " + file + ": model type '" + (type.empty() ? std::string("(none)") : type) +
                "' is not supported (only BPE tokenizer.json files, as Gemma ships them)");
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw Error("tokenizer " + file + ": BPE model has no \"vocab\" object");
  if (!model.contains("merges")) throw Error("tokenizer " + file + ": BPE model has no \"merges\" list");
  parse_vocab(model["vocab"], file, spec);
  parse_merges(model["merges"], file, spec);
  if (model.contains("unk_token") && model["unk_token"].is_string()) spec.unk_token = model["unk_token"].get<std::string>();
  auto flag = [&](const char* key) { return model.contains(key) && model[key].is_boolean() && model[key].get<bool>(); };
  spec.byte_fallback = flag("byte_fallback");
  spec.fuse_unk = flag("fuse_unk");
  spec.ignore_merges = flag("ignore_merges");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty()) {
      unsupported(file, std::string("BPE model with ") + key);
    }
  }
}


// ------------------------------------------------------------------------------------------------------------
// The tokenizer.

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

inline size_t utf8_char_length(std::string_view s, size_t i) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 1;  // invalid lead or truncated: one byte on its own
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ascii_word(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(BpeSpec spec) {
    source_ = spec.source;
    byte_fallback_ = spec.byte_fallback;
    fuse_unk_ = spec.fuse_unk;
    ignore_merges_ = spec.ignore_merges;
    normalizer_ = std::move(spec.normalizer);
    pre_tokenizer_ = std::move(spec.pre_tokenizer);
    decoder_ = std::move(spec.decoder);

    // Pieces by id.
    int32_t max_id = -1;
    for (const auto& [piece, id] : spec.vocab) max_id = std::max(max_id, id);
    for (const auto& t : spec.added_tokens) max_id = std::max(max_id, t.id);
    if (max_id < 0) throw Error("tokenizer " + source_ + ": the vocabulary is empty");
    pieces_.resize(static_cast<size_t>(max_id) + 1);
    flags_.assign(pieces_.size(), 0);
    for (auto& [piece, id] : spec.vocab) {
      if (flags_[id] & kExists)
        throw Error("tokenizer " + source_ + ": vocabulary id " + std::to_string(id) + " is used by both '" +
                    pieces_[id] + "' and '" + piece + "'");
      pieces_[id] = std::move(piece);
      flags_[id] |= kExists;
    }
    index_.init(&pieces_, pieces_.size());
    {
      // Hash a batch ahead and prefetch its slots: the table is far bigger than the caches.
      constexpr size_t kBatch = 16;
      uint64_t hashes[kBatch];
      for (size_t base = 0; base < pieces_.size(); base += kBatch) {
        const size_t n = std::min(kBatch, pieces_.size() - base);
        for (size_t k = 0; k < n; ++k) {
          hashes[k] = hash_bytes(pieces_[base + k]);
          index_.prefetch(hashes[k]);
        }
        for (size_t k = 0; k < n; ++k)
          if (flags_[base + k] & kExists) index_.insert(static_cast<int32_t>(base + k), false, hashes[k]);
      }
    }

    // Added tokens: they take their id even where the model vocabulary has the same string elsewhere.
    added_ = std::move(spec.added_tokens);
    for (size_t k = 0; k < added_.size(); ++k) {
      const AddedTokenSpec& t = added_[k];
      if ((flags_[t.id] & kExists) && pieces_[t.id] != t.content)
        throw Error("tokenizer " + source_ + ": added token '" + t.content + "' has id " + std::to_string(t.id) +
                    ", which the vocabulary gives to '" + pieces_[t.id] + "'");
      if (!(flags_[t.id] & kExists)) {
        pieces_[t.id] = t.content;
        flags_[t.id] |= kExists;
      }
      flags_[t.id] |= kAdded;
      if (t.special) flags_[t.id] |= kSpecial;
      index_.insert(t.id, true);
      (t.normalized ? normalized_added_ : raw_added_).add(t.content, static_cast<int32_t>(k));
    }
    raw_added_.finish();
    normalized_added_.finish();
    for (size_t id = 0; id < pieces_.size(); ++id)
      if (is_known_gemma_control_piece(pieces_[id])) flags_[id] |= kSpecial;

    // Merges.
    merges_.init(spec.merges.size() + 1);
    {
      // Batched like the vocabulary above: hash and prefetch, then look up, then insert.
      constexpr size_t kBatch = 16;
      std::string joined[kBatch];
      uint64_t ha[kBatch], hb[kBatch], hm[kBatch];
      int32_t ia[kBatch], ib[kBatch], im[kBatch];
      for (size_t base = 0; base < spec.merges.size(); base += kBatch) {
        const size_t n = std::min(kBatch, spec.merges.size() - base);
        for (size_t k = 0; k < n; ++k) {
          const auto& [a, b] = spec.merges[base + k];
          joined[k].assign(a).append(b);
          ha[k] = hash_bytes(a);
          hb[k] = hash_bytes(b);
          hm[k] = hash_bytes(joined[k]);
          index_.prefetch(ha[k]);
          index_.prefetch(hb[k]);
          index_.prefetch(hm[k]);
        }
        for (size_t k = 0; k < n; ++k) {
          const auto& [a, b] = spec.merges[base + k];
          ia[k] = index_.find(a, ha[k]);
          ib[k] = index_.find(b, hb[k]);
          im[k] = index_.find(joined[k], hm[k]);
          if (ia[k] < 0 || ib[k] < 0 || im[k] < 0)
            throw Error("tokenizer " + source_ + ": merge #" + std::to_string(base + k) + " (\"" + a + "\", \"" + b +
                        "\") uses a token that is not in the vocabulary: '" +
                        (ia[k] < 0 ? a : ib[k] < 0 ? b : joined[k]) + "'");
          merges_.prefetch(ia[k], ib[k]);
        }
        for (size_t k = 0; k < n; ++k)
          merges_.insert_or_assign(ia[k], ib[k], MergeTable::Value{static_cast<int32_t>(base + k), im[k]});
      }
    }

    // Lookup shortcuts.
    for (int c = 0; c < 128; ++c) ascii_ids_[c] = index_.find(std::string(1, static_cast<char>(c)));
    static const char* kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const std::string piece = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
      byte_ids_[b] = index_.find(piece);
    }
    model_unk_id_ = spec.unk_token.empty() ? -1 : index_.find(spec.unk_token);
    if (!spec.unk_token.empty() && model_unk_id_ < 0)
      throw Error("tokenizer " + source_ + ": unk_token '" + spec.unk_token + "' is not in the vocabulary");
    init_special_ids();
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    split_added(text, raw_added_, /*raw=*/true, 0, out);
    return out;
  }

  std::string token_to_piece(int32_t id) const override {
    check_id(id);
    return pieces_[id];
  }

  int32_t piece_to_id(std::string_view piece) const override { return index_.find(piece); }
  size_t vocab_size() const override { return pieces_.size(); }

  bool is_special(int32_t id) const override {
    check_id(id);
    return (flags_[id] & kSpecial) != 0;
  }

  std::string token_bytes(int32_t id) const override {
    check_id(id);
    const std::string& piece = pieces_[id];
    if (decoder_.byte_fallback && piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
      const int hi = hex_value(piece[3]), lo = hex_value(piece[4]);
      if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
    }
    std::string s = piece;
    for (const auto& [from, to] : decoder_.replacements) replace_all(s, from, to);
    return s;
  }

  bool decode_strips_leading_space() const override { return decoder_.strip_leading_space; }
  std::string kind() const override { return "huggingface-bpe"; }

 private:
  static constexpr uint8_t kExists = 1, kSpecial = 2, kAdded = 4;

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  void check_id(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size())
      throw Error("tokenizer " + source_ + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(pieces_.size()) + ")");
  }

  // Cuts `text` by the added tokens of `matcher`; stretches in between go on to the next stage.
  // `offset` is where `text` starts in the original input (for "first section" rules).
  void split_added(std::string_view text, const AddedTokenMatcher& matcher, bool raw, size_t offset,
                   std::vector<int32_t>& out) const {
    if (matcher.empty()) {
      next_stage(text, raw, offset, out);
      return;
    }
    size_t stretch_start = 0, i = 0;
    while (i < text.size()) {
      if (!matcher.may_start(static_cast<unsigned char>(text[i]))) {
        ++i;
        continue;
      }
      size_t len = 0;
      const int32_t k = matcher.match(text, i, &len);
      if (k < 0) {
        ++i;
        continue;
      }
      const AddedTokenSpec& t = added_[k];
      size_t begin = i, end = i + len;
      if (t.single_word && ((begin > 0 && is_ascii_word(text[begin - 1])) ||
                            (end < text.size() && is_ascii_word(text[end])))) {
        ++i;
        continue;
      }
      if (t.lstrip)
        while (begin > stretch_start && is_ascii_space(text[begin - 1])) --begin;
      if (t.rstrip)
        while (end < text.size() && is_ascii_space(text[end])) ++end;
      if (begin > stretch_start) next_stage(text.substr(stretch_start, begin - stretch_start), raw,
                                            offset + stretch_start, out);
      out.push_back(t.id);
      stretch_start = i = end;
    }
    if (stretch_start < text.size())
      next_stage(text.substr(stretch_start), raw, offset + stretch_start, out);
  }

  void next_stage(std::string_view stretch, bool raw, size_t offset, std::vector<int32_t>& out) const {
    if (raw) {
      std::string normalized(stretch);
      for (const NormalizerStep& step : normalizer_) {
        if (step.kind == NormalizerStep::Kind::Replace) {
          replace_all(normalized, step.pattern, step.content);
        } else if (!normalized.empty()) {
          normalized.insert(0, step.content);
        }
      }
      split_added(normalized, normalized_added_, /*raw=*/false, offset, out);
      return;
    }
    if (pre_tokenizer_.empty()) {
      bpe(stretch, out);
      return;
    }
    std::vector<std::string> words{std::string(stretch)};
    for (const PreTokenizerStep& step : pre_tokenizer_) words = apply_pre_tokenizer(step, words, offset == 0);
    for (const std::string& w : words) bpe(w, out);
  }

  static std::vector<std::string> apply_pre_tokenizer(const PreTokenizerStep& step,
                                                      const std::vector<std::string>& words, bool first_section) {
    std::vector<std::string> result;
    for (size_t w = 0; w < words.size(); ++w) {
      std::string word = words[w];
      std::string pattern = step.pattern;
      PreTokenizerStep::Behavior behavior = step.behavior;
      if (step.kind == PreTokenizerStep::Kind::Metaspace) {
        replace_all(word, " ", step.replacement);
        const bool prepend = step.prepend == PreTokenizerStep::Prepend::Always ||
                             (step.prepend == PreTokenizerStep::Prepend::First && first_section && w == 0);
        if (prepend && word.compare(0, step.replacement.size(), step.replacement) != 0)
          word.insert(0, step.replacement);
        if (!step.split) {
          if (!word.empty()) result.push_back(std::move(word));
          continue;
        }
        pattern = step.replacement;
        behavior = PreTokenizerStep::Behavior::MergedWithNext;
      }
      // Split `word` at literal occurrences of `pattern`.
      std::vector<std::pair<size_t, size_t>> pieces;  // [begin, end)
      size_t pos = 0, piece_start = 0;
      bool last_was_match = false;
      while (true) {
        const size_t hit = word.find(pattern, pos);
        if (hit == std::string::npos) break;
        const size_t hit_end = hit + pattern.size();
        using B = PreTokenizerStep::Behavior;
        switch (behavior) {
          case B::Removed:
            pieces.emplace_back(piece_start, hit);
            piece_start = hit_end;
            break;
          case B::Isolated:
            pieces.emplace_back(piece_start, hit);
            pieces.emplace_back(hit, hit_end);
            piece_start = hit_end;
            break;
          case B::MergedWithPrevious:
            pieces.emplace_back(piece_start, hit_end);
            piece_start = hit_end;
            break;
          case B::MergedWithNext:
            pieces.emplace_back(piece_start, hit);
            piece_start = hit;
            break;
          case B::Contiguous:
            if (last_was_match && hit == piece_start && !pieces.empty() && pieces.back().second == hit) {
              pieces.back().second = hit_end;
            } else {
              pieces.emplace_back(piece_start, hit);
              pieces.emplace_back(hit, hit_end);
            }
            piece_start = hit_end;
            break;
        }
        last_was_match = true;
        pos = hit_end;
      }
      pieces.emplace_back(piece_start, word.size());
      for (const auto& [b, e] : pieces)
        if (e > b) result.push_back(word.substr(b, e - b));
    }
    return result;
  }

  int32_t char_id(std::string_view ch) const {
    if (ch.size() == 1 && static_cast<unsigned char>(ch[0]) < 128) return ascii_ids_[static_cast<unsigned char>(ch[0])];
    return index_.find(ch);
  }

  void bpe(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
      const int32_t id = index_.find(word);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    struct Symbol {
      int32_t id;      // -1: a character outside the vocabulary
      int32_t prev, next;
      uint32_t start, len;  // bytes in `word`; len 0 = merged away
    };
    std::vector<Symbol> syms;
    syms.reserve(word.size());
    for (size_t i = 0; i < word.size();) {
      const size_t n = utf8_char_length(word, i);
      const int32_t index = static_cast<int32_t>(syms.size());
      syms.push_back(Symbol{char_id(word.substr(i, n)), index - 1, index + 1, static_cast<uint32_t>(i),
                            static_cast<uint32_t>(n)});
      i += n;
    }
    syms.back().next = -1;

    if (syms.size() > 1) {
      struct Candidate {
        int32_t rank, pos, left, right, merged;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
      };
      std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
      auto consider = [&](int32_t pos) {
        const Symbol& l = syms[pos];
        if (l.next < 0 || l.id < 0) return;
        const Symbol& r = syms[l.next];
        if (r.id < 0) return;
        if (const MergeTable::Value* v = merges_.find(l.id, r.id))
          heap.push(Candidate{v->rank, pos, l.id, r.id, v->merged});
      };
      for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);
      while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        Symbol& l = syms[c.pos];
        if (l.len == 0 || l.id != c.left || l.next < 0) continue;
        Symbol& r = syms[l.next];
        if (r.id != c.right) continue;
        l.id = c.merged;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) syms[r.next].prev = c.pos;
        if (l.prev >= 0) consider(l.prev);
        consider(c.pos);
      }
    }

    bool last_unk = false;
    for (int32_t i = 0; i >= 0; i = syms[i].next) {
      const Symbol& s = syms[i];
      if (s.id >= 0) {
        out.push_back(s.id);
        last_unk = false;
        continue;
      }
      const std::string_view ch = word.substr(s.start, s.len);
      if (byte_fallback_) {
        bool all = true;
        for (const char b : ch) all = all && byte_ids_[static_cast<unsigned char>(b)] >= 0;
        if (all) {
          for (const char b : ch) out.push_back(byte_ids_[static_cast<unsigned char>(b)]);
          last_unk = false;
          continue;
        }
      }
      if (model_unk_id_ < 0)
        throw Error("tokenizer " + source_ + ": cannot encode the character '" + std::string(ch) +
                    "': it is not in the vocabulary and there is neither byte fallback nor an unk_token");
      if (!(fuse_unk_ && last_unk)) out.push_back(model_unk_id_);
      last_unk = true;
    }
  }

  std::vector<std::string> pieces_;
  std::vector<uint8_t> flags_;
  PieceIndex index_;
  MergeTable merges_;
  std::vector<AddedTokenSpec> added_;
  AddedTokenMatcher raw_added_, normalized_added_;
  std::array<int32_t, 128> ascii_ids_{};
  std::array<int32_t, 256> byte_ids_{};
  int32_t model_unk_id_ = -1;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::vector<NormalizerStep> normalizer_;
  std::vector<PreTokenizerStep> pre_tokenizer_;
  DecoderSpec decoder_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(BpeSpec spec) { return std::make_unique<BpeTokenizer>(std::move(spec)); }

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::string& path) {
  return parse_hf_tokenizer_json(read_file(path), path);
}

std::unique_ptr<Tokenizer> parse_hf_tokenizer_json(std::string_view data, const std::string& path) {
  return make_bpe_tokenizer(parse_hf_tokenizer_json_spec(data, path));
}

BpeSpec parse_hf_tokenizer_json_spec(std::string_view data, const std::string& path) {
  BpeSpec spec;
  spec.source = path;
  if (data.size() >= 3 && data.compare(0, 3, "\xEF\xBB\xBF") == 0) data.remove_prefix(3);  // UTF-8 byte order mark
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(data);
  } catch (const nlohmann::json::exception& e) {
    throw Error("tokenizer " + path + ": malformed JSON (" + e.what() + ")");
  }
  if (!root.is_object()) throw Error("tokenizer " + path + ": malformed JSON: a tokenizer.json is one JSON object, not " + std::string(root.type_name()));
  if (!root.contains("model") && (root.contains("class_name") || root.contains("registered_name")))
    throw Error("tokenizer " + path + ": this is a KerasHub tokenizer config, not a vocabulary; the vocabulary "
                "is assets/tokenizer/vocabulary.spm next to it (pass the preset folder)");
  if (!root.contains("model")) throw Error("tokenizer " + path + ": no \"model\" section (is this a tokenizer.json?)");
  const nlohmann::json null;
  auto section = [&](const char* key) -> const nlohmann::json& { return root.contains(key) ? root[key] : null; };
  // The section parsers read optional fields with json::value(), which throws when a field has another JSON
  // type than the format gives it ("special": 5): reported as an error of the file and the section.
  auto parse_section = [&](const char* key, auto&& parse) {
    try {
      parse(section(key));
    } catch (const nlohmann::json::exception& e) {
      throw Error("tokenizer " + path + ": \"" + key + "\" has a field of the wrong JSON type (" + e.what() + ")");
    }
  };
  parse_section("model", [&](const nlohmann::json& j) { parse_model(j, path, spec); });
  parse_section("added_tokens", [&](const nlohmann::json& j) { parse_added_tokens(j, path, spec.added_tokens); });
  parse_section("normalizer", [&](const nlohmann::json& j) { parse_normalizer(j, path, spec.normalizer); });
  parse_section("pre_tokenizer", [&](const nlohmann::json& j) { parse_pre_tokenizer(j, path, spec.pre_tokenizer); });
  parse_section("decoder", [&](const nlohmann::json& j) {
    bool fused = false;
    if (!j.is_null()) parse_decoder_step(j, path, spec.decoder, fused);
  });
  return spec;
}

}  // namespace gemma4::text
