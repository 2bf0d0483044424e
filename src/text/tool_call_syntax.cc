// A recursive-descent reader for Gemma 4's tool-call argument syntax (the inverse of the chat template's
// format_argument macro). Depth is bounded by kMaxToolCallDepth, so no input can exhaust the stack.
#include "text/tool_call_syntax.h"

#include <gemma4/output_parser.h>

#include <nlohmann/json.hpp>

#include <utility>

namespace gemma4 {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kQuote = "<|\"|>";
constexpr std::string_view kCallPrefix = "call:";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Function names: what OpenAI allows ([A-Za-z0-9_-]) plus '.', ':', '/' and any non-ASCII byte.
bool is_name_char(char c) {
  return is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Characters that end a bare key without the ':' it needs.
bool is_structural(char c) { return c == '{' || c == '}' || c == '[' || c == ']' || c == ','; }

std::string shown(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
    static const char* hex = "0123456789abcdef";
    const unsigned char u = static_cast<unsigned char>(c);
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  return std::string("'") + c + "'";
}

class Reader {
 public:
  Reader(std::string_view text, size_t offset) : s_(text), offset_(offset) {}

  ToolCallSyntaxResult read_call() {
    ToolCallSyntaxResult result;
    skip_space();
    if (s_.substr(pos_, kCallPrefix.size()) != kCallPrefix)
      return fail("tool call: expected \"call:\" after <|tool_call>");
    pos_ += kCallPrefix.size();
    const size_t name_start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    if (pos_ == name_start) return fail("tool call: missing function name after \"call:\"");
    result.name = std::string(s_.substr(name_start, pos_ - name_start));
    skip_space();
    if (!take('{')) return fail("tool call: expected '{' after the function name \"" + result.name + "\"");
    Json arguments = Json::object();
    if (!read_object_members(&arguments, 1)) return std::move(failure_);
    skip_space();
    if (pos_ != s_.size())
      return fail("tool call: unexpected " + shown(s_[pos_]) + " after the arguments' closing '}'");
    result.arguments = arguments.dump(-1, ' ', false, Json::error_handler_t::replace);
    result.ok = true;
    return result;
  }

 private:
  std::string_view s_;
  size_t offset_;
  size_t pos_ = 0;
  ToolCallSyntaxResult failure_;

  ToolCallSyntaxResult fail(std::string message) {
    failure_.ok = false;
    failure_.error = std::move(message);
    failure_.error_offset = offset_ + pos_;
    return failure_;
  }
  bool failed(std::string message) {
    fail(std::move(message));
    return false;
  }

  void skip_space() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  }
  bool take(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool at_quote() const { return s_.substr(pos_, kQuote.size()) == kQuote; }
  std::string next_shown() const { return pos_ < s_.size() ? shown(s_[pos_]) : "end of the call"; }

  // After "<|"|>": the text up to the closing "<|"|>".
  bool read_quoted(std::string* out) {
    const size_t start = pos_ - kQuote.size();
    const size_t end = s_.find(kQuote, pos_);
    if (end == std::string_view::npos) {
      pos_ = start;
      return failed("tool call: string without its closing <|\"|>");
    }
    *out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + kQuote.size();
    return true;
  }

  // After '{': "key:value,...}" (possibly empty).
  bool read_object_members(Json* object, int depth) {
    skip_space();
    if (take('}')) return true;
    while (true) {
      std::string key;
      if (!read_key(&key)) return false;
      skip_space();
      if (!take(':')) return failed("tool call: expected ':' after the key \"" + key + "\"");
      skip_space();
      Json value;
      if (!read_value(&value, depth)) return false;
      (*object)[key] = std::move(value);
      skip_space();
      if (take('}')) return true;
      if (!take(','))
        return failed("tool call: expected ',' or '}' after the value of \"" + key + "\", found " + next_shown());
      skip_space();
    }
  }

  // A bare key (as the template writes them) or a <|"|>quoted<|"|> one.
  bool read_key(std::string* key) {
    if (at_quote()) {
      pos_ += kQuote.size();
      return read_quoted(key);
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ':') {
      if (is_structural(s_[pos_]) || at_quote()) break;
      ++pos_;
    }
    size_t end = pos_;
    while (end > start && is_space(s_[end - 1])) --end;
    if (end == start) {
      pos_ = start;
      return failed("tool call: expected a key, found " + next_shown());
    }
    if (pos_ == s_.size() || s_[pos_] != ':')
      return failed("tool call: expected ':' after the key \"" + std::string(s_.substr(start, end - start)) +
                    "\", found " + next_shown());
    *key = std::string(s_.substr(start, end - start));
    return true;
  }

  bool read_value(Json* value, int depth) {
    if (pos_ >= s_.size()) return failed("tool call: expected a value, found the end of the call");
    if (at_quote()) {
      pos_ += kQuote.size();
      std::string text;
      if (!read_quoted(&text)) return false;
      *value = std::move(text);
      return true;
    }
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxToolCallDepth)
        return failed("tool call: arguments nested deeper than " + std::to_string(kMaxToolCallDepth) + " levels");
      ++pos_;
      if (c == '{') {
        *value = Json::object();
        return read_object_members(value, depth + 1);
      }
      *value = Json::array();
      return read_list_items(value, depth + 1);
    }
    if (c == '-' || is_digit(c)) return read_number(value);
    if (is_letter(c)) return read_word(value);
    return failed("tool call: expected a value, found " + shown(c));
  }

  // After '[': "value,...]" (possibly empty).
  bool read_list_items(Json* list, int depth) {
    skip_space();
    if (take(']')) return true;
    while (true) {
      Json value;
      if (!read_value(&value, depth)) return false;
      list->push_back(std::move(value));
      skip_space();
      if (take(']')) return true;
      if (!take(',')) return failed("tool call: expected ',' or ']' in a list, found " + next_shown());
      skip_space();
    }
  }

  // JSON number syntax, then a delimiter.
  bool read_number(Json* value) {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      return pos_ > from;
    };
    take('-');
    if (take('0')) {
    } else if (!digits()) {
      return failed("tool call: bad number: no digits after '-'");
    }
    if (take('.') && !digits()) return failed("tool call: bad number: no digits after '.'");
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!take('+')) take('-');
      if (!digits()) return failed("tool call: bad number: no digits in the exponent");
    }
    const std::string token(s_.substr(start, pos_ - start));
    if (pos_ < s_.size() && !is_space(s_[pos_]) && !is_structural(s_[pos_]))
      return failed("tool call: bad number: " + next_shown() + " after \"" + token + "\"");
    try {
      *value = Json::parse(token);
    } catch (const Json::exception&) {
      pos_ = start;
      return failed("tool call: number out of range: " + token);
    }
    return true;
  }

  // true, false, null, and None (Python's str(None), which llama.cpp's copy of the template prints).
  bool read_word(Json* value) {
    const size_t start = pos_;
    while (pos_ < s_.size() && (is_letter(s_[pos_]) || is_digit(s_[pos_]) || s_[pos_] == '_')) ++pos_;
    const std::string_view word = s_.substr(start, pos_ - start);
    if (word == "true") *value = true;
    else if (word == "false") *value = false;
    else if (word == "null" || word == "None") *value = nullptr;
    else {
      pos_ = start;
      return failed("tool call: unknown word \"" + std::string(word) + "\" (strings must be wrapped in <|\"|>)");
    }
    return true;
  }
};

}  // namespace

ToolCallSyntaxResult parse_tool_call_body(std::string_view body, size_t offset) {
  return Reader(body, offset).read_call();
}

CallHead tool_call_head(std::string_view body, std::string* name) {
  size_t pos = 0;
  while (pos < body.size() && is_space(body[pos])) ++pos;
  const std::string_view prefix = body.substr(pos, kCallPrefix.size());
  if (prefix != kCallPrefix.substr(0, prefix.size())) return CallHead::No;
  if (prefix.size() < kCallPrefix.size()) return CallHead::NotYet;
  pos += kCallPrefix.size();
  const size_t start = pos;
  while (pos < body.size() && is_name_char(body[pos])) ++pos;
  const size_t end = pos;
  while (pos < body.size() && is_space(body[pos])) ++pos;
  if (pos == body.size()) return CallHead::NotYet;
  if (end == start || body[pos] != '{') return CallHead::No;
  *name = std::string(body.substr(start, end - start));
  return CallHead::Yes;
}

}  // namespace gemma4
