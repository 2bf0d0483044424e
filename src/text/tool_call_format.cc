// format_tool_call: an assistant tool call written the way Gemma 4's chat template writes it
// (google-gemma-4-31B-it.jinja: the tool_calls loop and the format_argument macro with escape_keys=False),
// so that parsed calls can be put back into a conversation and re-rendered.
#include <gemma4/output_parser.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace gemma4 {

namespace {

// Document order is kept: Jinja's dictsort is a stable sort, so keys equal up to case keep their JSON order.
using Json = nlohmann::ordered_json;

constexpr std::string_view kQuote = "<|\"|>";

// Python's repr() of a float: the shortest digits that round-trip, in fixed notation for decimal exponents
// -4..15 ("0.0001", "1000000000000000.0"), else as "1e-05" / "1.5e+300".
std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));  // "-1.2345e+02"
  const size_t e = sci.find('e');
  const int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string_view mantissa = sci.substr(0, e);
  const bool negative = mantissa.front() == '-';
  if (negative) mantissa.remove_prefix(1);
  std::string digits;
  for (const char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      const size_t point = static_cast<size_t>(exponent) + 1;
      out = digits.substr(0, point) + "." + digits.substr(point);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  }
  if (negative) out.insert(out.begin(), '-');
  return out;
}

// Jinja's dictsort: by key, case-insensitively (ASCII letters), stable.
std::vector<std::pair<std::string, const Json*>> sorted_items(const Json& object) {
  std::vector<std::pair<std::string, const Json*>> items;
  for (auto it = object.begin(); it != object.end(); ++it) items.emplace_back(it.key(), &it.value());
  auto lower = [](std::string s) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  return items;
}

// macro format_argument(argument, escape_keys=False)
void format_argument(const Json& v, std::string* out) {
  if (v.is_string()) {
    *out += kQuote;
    *out += v.get_ref<const std::string&>();
    *out += kQuote;
  } else if (v.is_boolean()) {
    *out += v.get<bool>() ? "true" : "false";
  } else if (v.is_object()) {
    *out += '{';
    bool first = true;
    for (const auto& [key, value] : sorted_items(v)) {
      if (!first) *out += ',';
      first = false;
      *out += key;
      *out += ':';
      format_argument(*value, out);
    }
    *out += '}';
  } else if (v.is_array()) {
    *out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) *out += ',';
      format_argument(v[i], out);
    }
    *out += ']';
  } else if (v.is_null()) {
    *out += "None";  // {{ argument }} of Python's None
  } else if (v.is_number_float()) {
    *out += python_float_repr(v.get<double>());
  } else {
    *out += v.dump();  // integers
  }
}

}  // namespace

std::string format_tool_call(std::string_view name, std::string_view arguments_json) {
  std::string out = "<|tool_call>call:";
  out += name;
  out += '{';
  Json arguments;
  try {
    arguments = Json::parse(arguments_json);
  } catch (const Json::exception&) {
    arguments = nullptr;
  }
  if (arguments.is_object()) {
    bool first = true;
    for (const auto& [key, value] : sorted_items(arguments)) {
      if (!first) out += ',';
      first = false;
      out += key;
      out += ':';
      format_argument(*value, &out);
    }
  } else {
    out += arguments_json;  // the template's `arguments is string` branch
  }
  out += "}<tool_call|>";
  return out;
}

}  // namespace gemma4
