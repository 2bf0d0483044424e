// Tokenizer for Jinja templates, following jinja2's lexer rules under the environment Hugging Face
// transformers uses: trim_blocks (the newline after a block tag is dropped), lstrip_blocks (whitespace
// before a block tag on its own line is dropped), `-`/`+` whitespace control on tags, comments and raw blocks,
// and keep_trailing_newline=False (one final newline of the template is dropped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::jinja {

enum class TokenType : uint8_t {
  Data,        // literal template text
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,
  Integer,
  Float,
  Operator,
  Eof,
};

struct Token {
  TokenType type;
  std::string text;  // Data text, name, decoded string literal, operator, or the source of a number
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

const char* token_type_name(TokenType t);

// Throws gemma4::Error naming origin and line on malformed input (unterminated tags, strings, comments,
// unbalanced brackets, unexpected characters).
std::vector<Token> tokenize(std::string_view source, std::string_view origin);

}  // namespace gemma4::jinja
