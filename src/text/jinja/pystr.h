// Python string semantics over UTF-8 text: what Jinja templates see when they call str methods, print floats
// or serialise JSON (jinja2 runs on Python's str, whose length/index/slice count code points).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::jinja::py {

// UTF-8 <-> code points. Invalid bytes decode as themselves (U+0080..U+00FF range is not used for them:
// they map to 0xDC80+byte like Python's surrogateescape, and encode back to the same byte).
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
bool is_ascii(std::string_view s);
size_t length(std::string_view s);  // code points

bool is_space(char32_t c);  // str.isspace()
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_upper_char(char32_t c);
bool is_lower_char(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);
bool is_alnum(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize()
std::string swapcase(std::string_view s);
std::string title_jinja(std::string_view s);  // jinja2's `title` filter (not str.title)
std::string title_python(std::string_view s);  // str.title()
bool islower(std::string_view s);
bool isupper(std::string_view s);

// strip family: chars == nullptr strips whitespace; otherwise any code point of *chars.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split / str.rsplit. sep == nullptr splits on whitespace runs. maxsplit < 0: no limit.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
int64_t count(std::string_view s, std::string_view sub);
// Byte offset of sub (or npos) translated to a code-point index; -1 when absent.
int64_t find(std::string_view s, std::string_view sub, bool reverse);

// repr(str) with Python's quote choice and escapes.
std::string repr(std::string_view s);
// repr(float): shortest round-trip digits, Python's fixed/scientific switch, "inf", "nan".
std::string float_repr(double v);
// json.dumps of a string.
void json_quote(std::string& out, std::string_view s, bool ensure_ascii);
// HTML escaping as markupsafe.escape: & < > ' "
std::string html_escape(std::string_view s);

}  // namespace gemma4::jinja::py
