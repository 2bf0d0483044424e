#include "text/jinja/lexer.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "text/jinja/pystr.h"

namespace gemma4::jinja {

const char* token_type_name(TokenType t) {
  switch (t) {
    case TokenType::Data: return "template data";
    case TokenType::VarBegin: return "begin of print statement";
    case TokenType::VarEnd: return "end of print statement";
    case TokenType::BlockBegin: return "begin of statement block";
    case TokenType::BlockEnd: return "end of statement block";
    case TokenType::Name: return "name";
    case TokenType::String: return "string";
    case TokenType::Integer: return "integer";
    case TokenType::Float: return "float";
    case TokenType::Operator: return "operator";
    case TokenType::Eof: return "end of template";
  }
  return "token";
}

namespace {

// jinja2 only treats \r\n, \r and \n as line breaks; all become \n.
std::string normalize_newlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  return out;
}

bool ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's `\s` at s[i] (Unicode whitespace); sets *len to the byte length of the code point.
bool space_at(std::string_view s, size_t i, size_t* len) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    *len = 1;
    return (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20);
  }
  size_t n = (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) n = 1;
  *len = n;
  std::u32string u = py::decode(s.substr(i, n));
  return u.size() == 1 && py::is_space(u[0]);
}

// Python str.rstrip() (Unicode whitespace).
size_t rstrip_end(std::string_view s) {
  std::string stripped = py::strip(s, nullptr, false, true);
  return stripped.size();
}

// True when s is one or more whitespace characters (re `\s+` fullmatch).
bool all_space(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0, len = 1;
  while (i < s.size()) {
    if (!space_at(s, i, &len)) return false;
    i += len;
  }
  return true;
}

class Lexer {
 public:
  Lexer(std::string_view source, std::string_view origin) : origin_(origin) {
    src_ = normalize_newlines(source);
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    push(TokenType::Eof, "", pos_);
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::string_view origin_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
  std::vector<char> balance_;

  // Line of byte p; positions mostly grow, so counting resumes from the last query.
  int line_at(size_t p) const {
    p = std::min(p, src_.size());
    if (p < line_pos_) {
      line_pos_ = 0;
      line_no_ = 1;
    }
    line_no_ += static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(line_pos_),
                                            src_.begin() + static_cast<std::ptrdiff_t>(p), '\n'));
    line_pos_ = p;
    return line_no_;
  }
  mutable size_t line_pos_ = 0;
  mutable int line_no_ = 1;

  [[noreturn]] void fail(size_t p, const std::string& what) const {
    throw Error("jinja template " + std::string(origin_) + ", line " + std::to_string(line_at(p)) + ": " + what);
  }

  void push(TokenType t, std::string text, size_t p) {
    Token tok;
    tok.type = t;
    tok.text = std::move(text);
    tok.line = line_at(p);
    tokens_.push_back(std::move(tok));
  }

  // Emits the data before a tag, applying `-` stripping or lstrip_blocks.
  void emit_data(size_t begin, size_t end, char sign, bool is_variable) {
    std::string_view text(src_.data() + begin, end - begin);
    if (sign == '-') {
      text = text.substr(0, rstrip_end(text));
    } else if (sign != '+' && !is_variable) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_space(text.substr(l_pos))) text = text.substr(0, l_pos);
    }
    if (!text.empty()) push(TokenType::Data, std::string(text), begin);
  }

  // Matches `\s*raw\s*(-%}\s*|%})` after "{%" + sign at p; returns the end or npos.
  size_t match_raw_begin(size_t p) const {
    while (p < src_.size() && ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return std::string::npos;
    p += 3;
    while (p < src_.size() && ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) {
      p += 3;
      while (p < src_.size() && ascii_space(src_[p])) ++p;
      return p;
    }
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string::npos;
  }

  void lex_root() {
    size_t p = pos_;
    while (true) {
      p = src_.find('{', p);
      if (p == std::string::npos || p + 1 >= src_.size()) {
        emit_data(pos_, src_.size(), 0, true);
        pos_ = src_.size();
        return;
      }
      const char c = src_[p + 1];
      if (c == '%' || c == '{' || c == '#') break;
      ++p;
    }
    const char kind = src_[p + 1];
    size_t after = p + 2;
    char sign = 0;
    if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
    if (kind == '%') {
      const size_t raw_end = match_raw_begin(after);
      if (raw_end != std::string::npos) {
        emit_data(pos_, p, sign, false);
        line_starting_ = raw_end > 0 && src_[raw_end - 1] == '\n';
        lex_raw(raw_end, p);
        return;
      }
    }
    emit_data(pos_, p, sign, kind == '{');
    if (kind == '#') {
      lex_comment(after, p);
      return;
    }
    push(kind == '{' ? TokenType::VarBegin : TokenType::BlockBegin, kind == '{' ? "{{" : "{%", p);
    pos_ = after;
    lex_tag(kind == '{');
  }

  void lex_comment(size_t p, size_t start) {
    while (true) {
      const size_t hit = src_.find("#}", p);
      if (hit == std::string::npos) fail(start, "Missing end of comment tag");
      // A sign right before "#}" belongs to the end tag.
      if (hit > p && src_[hit - 1] == '-' ) {
        size_t e = hit + 2;
        while (e < src_.size()) {
          size_t len = 1;
          if (!space_at(src_, e, &len)) break;
          e += len;
        }
        finish_tag(e);
        return;
      }
      if (hit > p && src_[hit - 1] == '+') {
        finish_tag(hit + 2);
        return;
      }
      size_t e = hit + 2;
      if (e < src_.size() && src_[e] == '\n') ++e;
      finish_tag(e);
      return;
    }
  }

  void lex_raw(size_t p, size_t start) {
    size_t search = p;
    while (true) {
      const size_t hit = src_.find("{%", search);
      if (hit == std::string::npos) fail(start, "Missing end of raw directive");
      size_t q = hit + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      while (q < src_.size() && ascii_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) {
        search = hit + 2;
        continue;
      }
      q += 6;
      while (q < src_.size() && ascii_space(src_[q])) ++q;
      size_t e;
      if (src_.compare(q, 3, "+%}") == 0) {
        e = q + 3;
      } else if (src_.compare(q, 3, "-%}") == 0) {
        e = q + 3;
        while (e < src_.size()) {
          size_t len = 1;
          if (!space_at(src_, e, &len)) break;
          e += len;
        }
      } else if (src_.compare(q, 2, "%}") == 0) {
        e = q + 2;
        if (e < src_.size() && src_[e] == '\n') ++e;
      } else {
        search = hit + 2;
        continue;
      }
      pos_ = p;
      emit_data(p, hit, sign, false);
      finish_tag(e);
      return;
    }
  }

  void finish_tag(size_t end) {
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    pos_ = end;
  }

  void lex_tag(bool variable) {
    const size_t tag_start = pos_;
    while (true) {
      if (pos_ >= src_.size()) fail(tag_start, variable ? "unexpected end of template, expected 'end of print statement'"
                                                        : "unexpected end of template, expected 'end of statement block'");
      // End tags, only when brackets are balanced.
      if (balance_.empty()) {
        if (variable) {
          if (src_.compare(pos_, 3, "-}}") == 0) {
            push(TokenType::VarEnd, "}}", pos_);
            size_t e = pos_ + 3;
            while (e < src_.size()) {
              size_t len = 1;
              if (!space_at(src_, e, &len)) break;
              e += len;
            }
            finish_tag(e);
            return;
          }
          if (src_.compare(pos_, 2, "}}") == 0) {
            push(TokenType::VarEnd, "}}", pos_);
            finish_tag(pos_ + 2);
            return;
          }
        } else {
          if (src_.compare(pos_, 3, "+%}") == 0) {
            push(TokenType::BlockEnd, "%}", pos_);
            finish_tag(pos_ + 3);
            return;
          }
          if (src_.compare(pos_, 3, "-%}") == 0) {
            push(TokenType::BlockEnd, "%}", pos_);
            size_t e = pos_ + 3;
            while (e < src_.size()) {
              size_t len = 1;
              if (!space_at(src_, e, &len)) break;
              e += len;
            }
            finish_tag(e);
            return;
          }
          if (src_.compare(pos_, 2, "%}") == 0) {
            push(TokenType::BlockEnd, "%}", pos_);
            size_t e = pos_ + 2;
            if (e < src_.size() && src_[e] == '\n') ++e;
            finish_tag(e);
            return;
          }
        }
      }
      size_t len = 1;
      if (space_at(src_, pos_, &len)) {
        pos_ += len;
        continue;
      }
      const char c = src_[pos_];
      if ((c >= '0' && c <= '9')) {
        lex_number();
        continue;
      }
      if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80) {
        size_t e = pos_;
        while (e < src_.size()) {
          const char d = src_[e];
          if (d == '_' || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') ||
              static_cast<unsigned char>(d) >= 0x80) {
            size_t l2 = 1;
            if (static_cast<unsigned char>(d) >= 0x80 && space_at(src_, e, &l2)) break;
            ++e;
          } else {
            break;
          }
        }
        push(TokenType::Name, src_.substr(pos_, e - pos_), pos_);
        pos_ = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        lex_string();
        continue;
      }
      lex_operator();
    }
  }

  void lex_number() {
    const size_t start = pos_;
    auto digits = [&](size_t p) {  // (\d+_)*\d+ ; returns end or p when none
      size_t e = p;
      if (e >= src_.size() || !(src_[e] >= '0' && src_[e] <= '9')) return p;
      while (e < src_.size()) {
        if (src_[e] >= '0' && src_[e] <= '9') {
          ++e;
        } else if (src_[e] == '_' && e + 1 < src_.size() && src_[e + 1] >= '0' && src_[e + 1] <= '9') {
          ++e;
        } else {
          break;
        }
      }
      return e;
    };
    const bool after_dot = start > 0 && src_[start - 1] == '.';
    // Float: digits then (.digits)?(e[+-]?digits) | .digits
    if (!after_dot) {
      size_t e = digits(start);
      size_t f = e;
      bool is_float = false;
      if (f < src_.size() && src_[f] == '.') {
        size_t g = digits(f + 1);
        if (g > f + 1) {
          f = g;
          is_float = true;
        }
      }
      if (f < src_.size() && (src_[f] == 'e' || src_[f] == 'E')) {
        size_t g = f + 1;
        if (g < src_.size() && (src_[g] == '+' || src_[g] == '-')) ++g;
        size_t h = digits(g);
        if (h > g) {
          f = h;
          is_float = true;
        }
      }
      if (is_float) {
        std::string text;
        for (size_t i = start; i < f; ++i)
          if (src_[i] != '_') text.push_back(src_[i]);
        Token tok;
        tok.type = TokenType::Float;
        tok.text = src_.substr(start, f - start);
        tok.float_value = std::strtod(text.c_str(), nullptr);
        tok.line = line_at(start);
        tokens_.push_back(std::move(tok));
        pos_ = f;
        return;
      }
    }
    // Integer: 0b/0o/0x prefixes, [1-9](_?\d)*, 0(_?0)*
    int base = 10;
    size_t p = start;
    std::string digits_text;
    if (src_[p] == '0' && p + 1 < src_.size() && std::string("bBoOxX").find(src_[p + 1]) != std::string::npos) {
      const char k = static_cast<char>(src_[p + 1] | 0x20);
      base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
      size_t e = p + 2;
      auto ok = [&](char d) {
        if (base == 2) return d == '0' || d == '1';
        if (base == 8) return d >= '0' && d <= '7';
        return (d >= '0' && d <= '9') || ((d | 0x20) >= 'a' && (d | 0x20) <= 'f');
      };
      while (e < src_.size()) {
        if (src_[e] == '_' && e + 1 < src_.size() && ok(src_[e + 1])) {
          ++e;
        } else if (ok(src_[e])) {
          digits_text.push_back(src_[e]);
          ++e;
        } else {
          break;
        }
      }
      if (!digits_text.empty()) {
        p = e;
      } else {
        base = 10;
      }
    }
    if (base == 10) {
      digits_text.clear();
      size_t e = p;
      if (src_[e] == '0') {
        digits_text.assign(1, '0');  // assign(1, c): operator=("0") trips a GCC 12 -Wrestrict false positive
        ++e;
        while (e < src_.size()) {
          if (src_[e] == '0') {
            ++e;
          } else if (src_[e] == '_' && e + 1 < src_.size() && src_[e + 1] == '0') {
            ++e;
          } else {
            break;
          }
        }
      } else {
        e = digits(p);
        for (size_t i = p; i < e; ++i)
          if (src_[i] != '_') digits_text.push_back(src_[i]);
      }
      p = e;
    }
    errno = 0;
    const unsigned long long v = std::strtoull(digits_text.c_str(), nullptr, base);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) fail(start, "integer literal too large");
    Token tok;
    tok.type = TokenType::Integer;
    tok.text = src_.substr(start, p - start);
    tok.int_value = static_cast<int64_t>(v);
    tok.line = line_at(start);
    tokens_.push_back(std::move(tok));
    pos_ = p;
  }

  // Python's "unicode-escape" decoding of a string literal body, as jinja2 does.
  void lex_string() {
    const size_t start = pos_;
    const char q = src_[pos_];
    size_t e = pos_ + 1;
    while (e < src_.size() && src_[e] != q) {
      if (src_[e] == '\\') ++e;
      ++e;
    }
    if (e >= src_.size()) fail(start, "unexpected char " + py::repr(std::string(1, q)) + " at " + std::to_string(start));
    std::string_view body(src_.data() + start + 1, e - start - 1);
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '\\' || i + 1 >= body.size()) {
        out.push_back(body[i]);
        continue;
      }
      const char n = body[++i];
      auto hex = [&](size_t count) -> bool {
        if (i + count >= body.size()) return false;
        uint32_t v = 0;
        for (size_t k = 1; k <= count; ++k) {
          const char h = body[i + k];
          int d = (h >= '0' && h <= '9') ? h - '0' : ((h | 0x20) >= 'a' && (h | 0x20) <= 'f') ? (h | 0x20) - 'a' + 10 : -1;
          if (d < 0) return false;
          v = v * 16 + static_cast<uint32_t>(d);
        }
        if (v > 0x10FFFF) return false;
        py::append_utf8(out, v);
        i += count;
        return true;
      };
      switch (n) {
        case '\n': break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x':
          if (!hex(2)) fail(start, "invalid \\x escape in string literal");
          break;
        case 'u':
          if (!hex(4)) fail(start, "invalid \\u escape in string literal");
          break;
        case 'U':
          if (!hex(8)) fail(start, "invalid \\U escape in string literal");
          break;
        default:
          if (n >= '0' && n <= '7') {
            uint32_t v = static_cast<uint32_t>(n - '0');
            int k = 1;
            while (k < 3 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7') {
              v = v * 8 + static_cast<uint32_t>(body[++i] - '0');
              ++k;
            }
            py::append_utf8(out, v);
          } else {
            out.push_back('\\');
            out.push_back(n);
          }
      }
    }
    push(TokenType::String, std::move(out), start);
    pos_ = e + 1;
  }

  void lex_operator() {
    static const char* const kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        push(TokenType::Operator, op, pos_);
        pos_ += 2;
        return;
      }
    }
    const char c = src_[pos_];
    static const std::string kOne = "+-/*%~[](){}><=.:|,;";
    if (kOne.find(c) == std::string::npos) {
      size_t len = 1;
      space_at(src_, pos_, &len);
      fail(pos_, "unexpected char " + py::repr(src_.substr(pos_, len)) + " at " + std::to_string(pos_));
    }
    if (c == '(' || c == '[' || c == '{') {
      balance_.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (balance_.empty()) fail(pos_, std::string("unexpected '") + c + "'");
      if (balance_.back() != c) fail(pos_, std::string("unexpected '") + c + "', expected '" + balance_.back() + "'");
      balance_.pop_back();
    }
    push(TokenType::Operator, std::string(1, c), pos_);
    ++pos_;
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, std::string_view origin) {
  return Lexer(source, origin).run();
}

}  // namespace gemma4::jinja
