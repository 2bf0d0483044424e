// Attribute and item access (jinja2's sandboxed getattr/getitem), the Python methods of str/dict/list values
// that templates call, str.format, and the environment's global functions.
#include <gemma4/error.h>

#include <cmath>
#include <ctime>

#include "text/jinja/builtins.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/pystr.h"

namespace gemma4::jinja {

namespace {

using Method = Value (*)(Interpreter&, const Value& self, CallArgs& args);

// Positional-or-keyword argument access for builtins.
const Value* arg(CallArgs& a, size_t pos, const char* name) {
  if (pos < a.args.size()) return &a.args[pos];
  for (auto& [k, v] : a.kwargs)
    if (k == name) return &v;
  return nullptr;
}

void max_args(Interpreter& in, CallArgs& a, size_t n, const char* fn) {
  if (a.args.size() > n)
    in.fail(std::string("TypeError: ") + fn + "() takes at most " + std::to_string(n) + " arguments (" +
            std::to_string(a.args.size()) + " given)");
}

const std::string& need_str(Interpreter& in, const Value* v, const char* fn) {
  if (!v || !v->is_string())
    in.fail(std::string("TypeError: ") + fn + "() argument must be str, not " + (v ? v->type_name() : "nothing"));
  return v->str();
}

std::optional<std::string> opt_str(Interpreter& in, const Value* v, const char* fn) {
  if (!v || v->is_none()) return std::nullopt;
  return need_str(in, v, fn);
}

int64_t opt_int(Interpreter& in, const Value* v, int64_t dflt, const char* fn) {
  if (!v || v->is_none()) return dflt;
  if (!v->is_integral()) in.fail(std::string("TypeError: ") + fn + "() argument must be an integer, not " + v->type_name());
  return v->as_int();
}

Value str_list(std::vector<std::string> parts) {
  List l;
  l.reserve(parts.size());
  for (auto& p : parts) l.push_back(Value::string(std::move(p)));
  return Value::list(std::move(l));
}

Value m_strip_common(Interpreter& in, const Value& self, CallArgs& a, bool l, bool r, const char* fn) {
  max_args(in, a, 1, fn);
  std::optional<std::string> chars = opt_str(in, arg(a, 0, "chars"), fn);
  return Value::string(py::strip(self.str(), chars ? &*chars : nullptr, l, r), self.is_markup());
}
Value m_strip(Interpreter& in, const Value& s, CallArgs& a) { return m_strip_common(in, s, a, true, true, "strip"); }
Value m_lstrip(Interpreter& in, const Value& s, CallArgs& a) { return m_strip_common(in, s, a, true, false, "lstrip"); }
Value m_rstrip(Interpreter& in, const Value& s, CallArgs& a) { return m_strip_common(in, s, a, false, true, "rstrip"); }

Value m_split_common(Interpreter& in, const Value& self, CallArgs& a, bool reverse) {
  max_args(in, a, 2, "split");
  std::optional<std::string> sep = opt_str(in, arg(a, 0, "sep"), "split");
  if (sep && sep->empty()) in.fail("ValueError: empty separator");
  const int64_t maxsplit = opt_int(in, arg(a, 1, "maxsplit"), -1, "split");
  auto parts = reverse ? py::rsplit(self.str(), sep ? &*sep : nullptr, maxsplit)
                       : py::split(self.str(), sep ? &*sep : nullptr, maxsplit);
  in.check_items(parts.size());
  return str_list(std::move(parts));
}
Value m_split(Interpreter& in, const Value& s, CallArgs& a) { return m_split_common(in, s, a, false); }
Value m_rsplit(Interpreter& in, const Value& s, CallArgs& a) { return m_split_common(in, s, a, true); }
Value m_splitlines(Interpreter& in, const Value& s, CallArgs& a) {
  const Value* k = arg(a, 0, "keepends");
  return str_list(py::splitlines(s.str(), k && truthy(*k)));
  (void)in;
}

// startswith/endswith with a str or a tuple of str, and optional start/end (code point indices).
Value m_affix(Interpreter& in, const Value& self, CallArgs& a, bool ends) {
  const char* fn = ends ? "endswith" : "startswith";
  const Value* p = arg(a, 0, "prefix");
  if (!p) in.fail(std::string("TypeError: ") + fn + "() takes at least 1 argument (0 given)");
  std::string s = self.str();
  const Value* st = arg(a, 1, "start");
  const Value* en = arg(a, 2, "end");
  if ((st && !st->is_none()) || (en && !en->is_none())) {
    Value sliced = slice_value(in, self, st ? *st : Value::none(), en ? *en : Value::none(), Value::none());
    s = sliced.str();
  }
  std::vector<std::string> options;
  if (p->is_string()) {
    options.push_back(p->str());
  } else if (p->is_tuple()) {
    for (const Value& e : p->items()) options.push_back(need_str(in, &e, fn));
  } else {
    in.fail(std::string("TypeError: ") + fn + " first arg must be str or a tuple of str, not " + p->type_name());
  }
  for (const std::string& o : options) {
    if (o.size() > s.size()) continue;
    if (ends ? s.compare(s.size() - o.size(), o.size(), o) == 0 : s.compare(0, o.size(), o) == 0)
      return Value::boolean(true);
  }
  return Value::boolean(false);
}
Value m_startswith(Interpreter& in, const Value& s, CallArgs& a) { return m_affix(in, s, a, false); }
Value m_endswith(Interpreter& in, const Value& s, CallArgs& a) { return m_affix(in, s, a, true); }

Value m_upper(Interpreter&, const Value& s, CallArgs&) { return Value::string(py::upper(s.str()), s.is_markup()); }
Value m_lower(Interpreter&, const Value& s, CallArgs&) { return Value::string(py::lower(s.str()), s.is_markup()); }
Value m_title(Interpreter&, const Value& s, CallArgs&) { return Value::string(py::title_python(s.str()), s.is_markup()); }
Value m_capitalize(Interpreter&, const Value& s, CallArgs&) { return Value::string(py::capitalize(s.str()), s.is_markup()); }
Value m_swapcase(Interpreter&, const Value& s, CallArgs&) { return Value::string(py::swapcase(s.str()), s.is_markup()); }

Value m_replace(Interpreter& in, const Value& self, CallArgs& a) {
  const std::string& old = need_str(in, arg(a, 0, "old"), "replace");
  const std::string& repl = need_str(in, arg(a, 1, "new"), "replace");
  const int64_t count = opt_int(in, arg(a, 2, "count"), -1, "replace");
  std::string r = py::replace(self.str(), old, repl, count);
  in.check_string(r.size());
  return Value::string(std::move(r), self.is_markup());
}

Value m_find_common(Interpreter& in, const Value& self, CallArgs& a, bool reverse, bool raise) {
  const std::string& sub = need_str(in, arg(a, 0, "sub"), "find");
  const int64_t i = py::find(self.str(), sub, reverse);
  if (i < 0 && raise) in.fail("ValueError: substring not found");
  return Value::integer(i);
}
Value m_find(Interpreter& in, const Value& s, CallArgs& a) { return m_find_common(in, s, a, false, false); }
Value m_rfind(Interpreter& in, const Value& s, CallArgs& a) { return m_find_common(in, s, a, true, false); }
Value m_index_str(Interpreter& in, const Value& s, CallArgs& a) { return m_find_common(in, s, a, false, true); }
Value m_rindex(Interpreter& in, const Value& s, CallArgs& a) { return m_find_common(in, s, a, true, true); }
Value m_count_str(Interpreter& in, const Value& s, CallArgs& a) {
  return Value::integer(py::count(s.str(), need_str(in, arg(a, 0, "sub"), "count")));
}

Value m_join(Interpreter& in, const Value& self, CallArgs& a) {
  const Value* it = arg(a, 0, "iterable");
  if (!it) in.fail("TypeError: join() takes exactly one argument (0 given)");
  std::string out;
  bool first = true;
  for (const Value& e : iterate(in, *it)) {
    if (!e.is_string()) in.fail(std::string("TypeError: sequence item: expected str instance, ") + e.type_name() + " found");
    if (!first) out += self.str();
    first = false;
    out += e.str();
    in.check_string(out.size());
  }
  return Value::string(std::move(out));
}

template <bool (*Pred)(char32_t)>
Value m_is(Interpreter&, const Value& s, CallArgs&) {
  std::u32string u = py::decode(s.str());
  if (u.empty()) return Value::boolean(false);
  for (char32_t c : u)
    if (!Pred(c)) return Value::boolean(false);
  return Value::boolean(true);
}
bool is_space_pred(char32_t c) { return py::is_space(c); }
bool is_digit_pred(char32_t c) { return py::is_digit(c); }
bool is_alpha_pred(char32_t c) { return py::is_alpha(c); }
bool is_alnum_pred(char32_t c) { return py::is_alnum(c); }
Value m_isupper(Interpreter&, const Value& s, CallArgs&) { return Value::boolean(py::isupper(s.str())); }
Value m_islower(Interpreter&, const Value& s, CallArgs&) { return Value::boolean(py::islower(s.str())); }

Value pad(Interpreter& in, const Value& self, CallArgs& a, int mode) {  // 0 center, 1 ljust, 2 rjust
  const int64_t width = opt_int(in, arg(a, 0, "width"), 0, "center");
  std::string fill = " ";
  if (const Value* f = arg(a, 1, "fillchar")) fill = need_str(in, f, "center");
  const int64_t len = static_cast<int64_t>(py::length(self.str()));
  if (width <= len) return self;
  in.check_string(static_cast<size_t>(width) * fill.size());
  const int64_t total = width - len;
  int64_t left = mode == 1 ? 0 : mode == 2 ? total : total / 2 + (total & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += self.str();
  for (int64_t i = 0; i < total - left; ++i) out += fill;
  return Value::string(std::move(out));
}
Value m_center(Interpreter& in, const Value& s, CallArgs& a) { return pad(in, s, a, 0); }
Value m_ljust(Interpreter& in, const Value& s, CallArgs& a) { return pad(in, s, a, 1); }
Value m_rjust(Interpreter& in, const Value& s, CallArgs& a) { return pad(in, s, a, 2); }
Value m_zfill(Interpreter& in, const Value& self, CallArgs& a) {
  const int64_t width = opt_int(in, arg(a, 0, "width"), 0, "zfill");
  const std::string& s = self.str();
  const int64_t len = static_cast<int64_t>(py::length(s));
  if (width <= len) return self;
  in.check_string(static_cast<size_t>(width));
  std::string out = s;
  const size_t at = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  out.insert(at, static_cast<size_t>(width - len), '0');
  return Value::string(std::move(out));
}

Value m_partition_common(Interpreter& in, const Value& self, CallArgs& a, bool reverse) {
  const std::string& sep = need_str(in, arg(a, 0, "sep"), "partition");
  if (sep.empty()) in.fail("ValueError: empty separator");
  const std::string& s = self.str();
  const size_t hit = reverse ? s.rfind(sep) : s.find(sep);
  if (hit == std::string::npos) {
    if (reverse) return Value::tuple({Value::string(""), Value::string(""), Value::string(s)});
    return Value::tuple({Value::string(s), Value::string(""), Value::string("")});
  }
  return Value::tuple({Value::string(s.substr(0, hit)), Value::string(sep), Value::string(s.substr(hit + sep.size()))});
}
Value m_partition(Interpreter& in, const Value& s, CallArgs& a) { return m_partition_common(in, s, a, false); }
Value m_rpartition(Interpreter& in, const Value& s, CallArgs& a) { return m_partition_common(in, s, a, true); }

Value m_removeprefix(Interpreter& in, const Value& self, CallArgs& a) {
  const std::string& p = need_str(in, arg(a, 0, "prefix"), "removeprefix");
  const std::string& s = self.str();
  if (s.compare(0, p.size(), p) == 0 && s.size() >= p.size()) return Value::string(s.substr(p.size()));
  return self;
}
Value m_removesuffix(Interpreter& in, const Value& self, CallArgs& a) {
  const std::string& p = need_str(in, arg(a, 0, "suffix"), "removesuffix");
  const std::string& s = self.str();
  if (!p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
    return Value::string(s.substr(0, s.size() - p.size()));
  return self;
}

// ---- str.format -------------------------------------------------------------------------------------------

std::string format_spec_apply(Interpreter& in, const Value& v, const std::string& spec) {
  if (spec.empty()) return to_str(v);
  // [[fill]align][sign][#][0][width][,][.precision][type]
  size_t i = 0;
  std::string fill = " ";
  char align = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  std::u32string u = py::decode(spec);
  if (u.size() >= 2 && u[1] < 0x80 && is_align(static_cast<char>(u[1]))) {
    fill.clear();
    py::append_utf8(fill, u[0]);
    align = static_cast<char>(u[1]);
    i = 2;
  } else if (!u.empty() && u[0] < 0x80 && is_align(static_cast<char>(u[0]))) {
    align = static_cast<char>(u[0]);
    i = 1;
  }
  std::string rest = py::encode(std::u32string_view(u).substr(i));
  i = 0;
  char sign = 0;
  if (i < rest.size() && (rest[i] == '+' || rest[i] == '-' || rest[i] == ' ')) sign = rest[i++];
  if (i < rest.size() && rest[i] == '#') ++i;
  if (i < rest.size() && rest[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  int width = 0;
  while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) width = width * 10 + (rest[i++] - '0');
  if (i < rest.size() && (rest[i] == ',' || rest[i] == '_')) ++i;
  int precision = -1;
  if (i < rest.size() && rest[i] == '.') {
    ++i;
    precision = 0;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) precision = precision * 10 + (rest[i++] - '0');
  }
  char type = i < rest.size() ? rest[i++] : 0;
  if (i != rest.size()) in.fail("ValueError: Invalid format specifier");
  std::string body;
  char buf[512];
  if (v.is_string() || (!v.is_number())) {
    if (type && type != 's') in.fail(std::string("ValueError: Unknown format code '") + type + "' for object of type '" + v.type_name() + "'");
    body = to_str(v);
    if (precision >= 0) body = py::encode(py::decode(body).substr(0, static_cast<size_t>(precision)));
    if (!align) align = '<';
  } else {
    if (!align) align = '>';
    if (type == 0 && v.is_integral() && precision < 0) {
      body = std::to_string(v.as_int());
    } else if (type == 0 && precision < 0) {
      body = to_str(v);
    } else if (type == 'd') {
      if (!v.is_integral()) in.fail("ValueError: Unknown format code 'd' for object of type 'float'");
      body = std::to_string(v.as_int());
    } else if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
      if (!v.is_integral()) in.fail(std::string("ValueError: Unknown format code '") + type + "' for object of type 'float'");
      if (type == 'b') {
        uint64_t x = static_cast<uint64_t>(std::llabs(v.as_int()));
        body = x == 0 ? "0" : "";
        while (x) {
          body.insert(body.begin(), static_cast<char>('0' + (x & 1)));
          x >>= 1;
        }
        if (v.as_int() < 0) body.insert(0, "-");
      } else {
        std::snprintf(buf, sizeof buf, type == 'x' ? "%llx" : type == 'X' ? "%llX" : "%llo", static_cast<long long>(v.as_int()));
        body = buf;
      }
    } else if (type == 'f' || type == 'F' || type == 'e' || type == 'E' || type == 'g' || type == 'G' || type == '%' || type == 0) {
      double d = v.as_double();
      const int p = precision < 0 ? 6 : precision;
      if (type == '%') {
        std::snprintf(buf, sizeof buf, "%.*f%%", p, d * 100);
      } else {
        const char t = type == 0 ? 'g' : type;
        const std::string f = std::string("%.*") + t;
        std::snprintf(buf, sizeof buf, f.c_str(), p, d);
      }
      body = buf;
    } else {
      in.fail(std::string("ValueError: Unknown format code '") + type + "'");
    }
    if (sign == '+' && body[0] != '-') body.insert(0, "+");
    if (sign == ' ' && body[0] != '-') body.insert(0, " ");
  }
  const int len = static_cast<int>(py::length(body));
  if (width <= len) return body;
  const int total = width - len;
  std::string out;
  auto fills = [&](int n) {
    for (int k = 0; k < n; ++k) out += fill;
  };
  if (align == '<') {
    out = body;
    fills(total);
  } else if (align == '>') {
    fills(total);
    out += body;
  } else if (align == '^') {
    fills(total / 2);
    out += body;
    fills(total - total / 2);
  } else {  // '=': padding after the sign
    size_t s = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    out = body.substr(0, s);
    fills(total);
    out += body.substr(s);
  }
  return out;
}

Value m_format(Interpreter& in, const Value& self, CallArgs& a) {
  const std::string& f = self.str();
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      in.fail("ValueError: Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t depth = 1, j = i + 1;
    while (j < f.size() && depth) {
      if (f[j] == '{') ++depth;
      else if (f[j] == '}') --depth;
      if (depth) ++j;
    }
    if (j >= f.size()) in.fail("ValueError: Single '{' encountered in format string");
    std::string field = f.substr(i + 1, j - i - 1);
    i = j;
    std::string spec, conv;
    const size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    const size_t bang = field.find('!');
    if (bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field = field.substr(0, bang);
    }
    // first part: name or index, then .attr / [key] chains
    size_t k = 0;
    while (k < field.size() && field[k] != '.' && field[k] != '[') ++k;
    std::string head = field.substr(0, k);
    Value v;
    if (head.empty()) {
      if (auto_index >= a.args.size()) in.fail("IndexError: Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = a.args[auto_index++];
    } else if (std::all_of(head.begin(), head.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      const size_t idx = std::stoul(head);
      if (idx >= a.args.size()) in.fail("IndexError: Replacement index " + head + " out of range for positional args tuple");
      v = a.args[idx];
    } else {
      const Value* kv = nullptr;
      for (auto& [kk, vv] : a.kwargs)
        if (kk == head) kv = &vv;
      if (!kv) in.fail("KeyError: '" + head + "'");
      v = *kv;
    }
    while (k < field.size()) {
      if (field[k] == '.') {
        size_t e = k + 1;
        while (e < field.size() && field[e] != '.' && field[e] != '[') ++e;
        v = get_attr(in, v, field.substr(k + 1, e - k - 1));
        k = e;
      } else {
        const size_t e = field.find(']', k);
        if (e == std::string::npos) in.fail("ValueError: Missing ']' in format string");
        std::string key = field.substr(k + 1, e - k - 1);
        const bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
        v = get_item(in, v, numeric ? Value::integer(std::stoll(key)) : Value::string(key));
        k = e + 1;
      }
    }
    if (conv == "r") v = Value::string(to_repr(v));
    else if (conv == "s") v = Value::string(to_str(v));
    out += format_spec_apply(in, v, spec);
    in.check_string(out.size());
  }
  return Value::string(std::move(out));
}

// ---- dict / list ------------------------------------------------------------------------------------------

Value m_get(Interpreter& in, const Value& self, CallArgs& a) {
  const Value* key = arg(a, 0, "key");
  if (!key) in.fail("TypeError: get expected at least 1 argument, got 0");
  if (!hashable(*key)) in.fail(std::string("TypeError: unhashable type: '") + key->type_name() + "'");
  if (const Value* v = self.dict().find(*key)) return *v;
  const Value* d = arg(a, 1, "default");
  return d ? *d : Value::none();
}
Value m_items(Interpreter&, const Value& self, CallArgs&) {
  List l;
  for (const auto& [k, v] : self.dict().items) l.push_back(Value::tuple({k, v}));
  return Value::list(std::move(l));
}
Value m_keys(Interpreter&, const Value& self, CallArgs&) {
  List l;
  for (const auto& [k, v] : self.dict().items) l.push_back(k);
  return Value::list(std::move(l));
}
Value m_values(Interpreter&, const Value& self, CallArgs&) {
  List l;
  for (const auto& [k, v] : self.dict().items) l.push_back(v);
  return Value::list(std::move(l));
}
Value m_copy(Interpreter&, const Value& self, CallArgs&) {
  if (self.is_dict()) return Value::dict(self.dict());
  return Value::list(self.items());
}
Value m_index_list(Interpreter& in, const Value& self, CallArgs& a) {
  const Value* x = arg(a, 0, "value");
  if (!x) in.fail("TypeError: index expected at least 1 argument, got 0");
  for (size_t i = 0; i < self.items().size(); ++i)
    if (equal(self.items()[i], *x)) return Value::integer(static_cast<int64_t>(i));
  in.fail(to_repr(*x) + " is not in list");
}
Value m_count_list(Interpreter& in, const Value& self, CallArgs& a) {
  const Value* x = arg(a, 0, "value");
  if (!x) in.fail("TypeError: count() takes exactly one argument (0 given)");
  int64_t n = 0;
  for (const Value& e : self.items()) n += equal(e, *x);
  return Value::integer(n);
}

struct MethodEntry {
  const char* name;
  Method fn;
};

const MethodEntry kStrMethods[] = {
    {"strip", m_strip}, {"lstrip", m_lstrip}, {"rstrip", m_rstrip}, {"split", m_split}, {"rsplit", m_rsplit},
    {"splitlines", m_splitlines}, {"startswith", m_startswith}, {"endswith", m_endswith}, {"upper", m_upper},
    {"lower", m_lower}, {"casefold", m_lower}, {"title", m_title}, {"capitalize", m_capitalize},
    {"swapcase", m_swapcase}, {"replace", m_replace}, {"find", m_find}, {"rfind", m_rfind},
    {"index", m_index_str}, {"rindex", m_rindex}, {"count", m_count_str}, {"join", m_join}, {"format", m_format},
    {"isspace", m_is<is_space_pred>}, {"isdigit", m_is<is_digit_pred>}, {"isdecimal", m_is<is_digit_pred>},
    {"isnumeric", m_is<is_digit_pred>}, {"isalpha", m_is<is_alpha_pred>}, {"isalnum", m_is<is_alnum_pred>},
    {"isupper", m_isupper}, {"islower", m_islower}, {"center", m_center}, {"ljust", m_ljust}, {"rjust", m_rjust},
    {"zfill", m_zfill}, {"partition", m_partition}, {"rpartition", m_rpartition},
    {"removeprefix", m_removeprefix}, {"removesuffix", m_removesuffix},
};
const MethodEntry kDictMethods[] = {
    {"get", m_get}, {"items", m_items}, {"keys", m_keys}, {"values", m_values}, {"copy", m_copy},
};
const MethodEntry kListMethods[] = {
    {"index", m_index_list}, {"count", m_count_list}, {"copy", m_copy},
};
// Mutating methods: ImmutableSandboxedEnvironment reports them as unsafe.
const char* const kUnsafeDict[] = {"pop", "popitem", "setdefault", "update", "clear"};
const char* const kUnsafeList[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};

Value bind(const Value& self, const char* name, Method fn) {
  return Value::callable(name, [self, fn](Interpreter& in, CallArgs& a) { return fn(in, self, a); });
}

template <size_t N>
const MethodEntry* find_method(const MethodEntry (&table)[N], const std::string& name) {
  for (const auto& e : table)
    if (name == e.name) return &e;
  return nullptr;
}

template <size_t N>
bool listed(const char* const (&table)[N], const std::string& name) {
  for (const char* e : table)
    if (name == e) return true;
  return false;
}

// Python attribute lookup; nullopt means AttributeError.
std::optional<Value> python_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::String:
      if (const MethodEntry* m = find_method(kStrMethods, name)) return bind(obj, m->name, m->fn);
      return std::nullopt;
    case Value::Kind::Dict:
      if (const MethodEntry* m = find_method(kDictMethods, name)) return bind(obj, m->name, m->fn);
      if (listed(kUnsafeDict, name))
        return Value::undefined("access to attribute '" + name + "' of 'dict' object is unsafe.", true);
      return std::nullopt;
    case Value::Kind::List:
      if (const MethodEntry* m = find_method(kListMethods, name)) return bind(obj, m->name, m->fn);
      if (listed(kUnsafeList, name))
        return Value::undefined("access to attribute '" + name + "' of 'list' object is unsafe.", true);
      return std::nullopt;
    case Value::Kind::Tuple:
      if (name == "index" || name == "count") {
        const MethodEntry* m = find_method(kListMethods, name);
        return bind(obj, m->name, m->fn);
      }
      return std::nullopt;
    case Value::Kind::Namespace:
      if (const Value* v = obj.dict().find(std::string_view(name))) return *v;
      return std::nullopt;
    case Value::Kind::Loop: {
      const LoopState& st = *obj.loop_state();
      const int64_t i = static_cast<int64_t>(st.index0);
      const int64_t n = static_cast<int64_t>(st.items->size());
      if (name == "index") return Value::integer(i + 1);
      if (name == "index0") return Value::integer(i);
      if (name == "revindex") return Value::integer(n - i);
      if (name == "revindex0") return Value::integer(n - i - 1);
      if (name == "first") return Value::boolean(i == 0);
      if (name == "last") return Value::boolean(i == n - 1);
      if (name == "length") return Value::integer(n);
      if (name == "depth") return Value::integer(st.depth0 + 1);
      if (name == "depth0") return Value::integer(st.depth0);
      if (name == "previtem")
        return i > 0 ? (*st.items)[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item");
      if (name == "nextitem")
        return i + 1 < n ? (*st.items)[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item");
      if (name == "cycle") {
        std::shared_ptr<LoopState> sp = obj.loop_state();
        return Value::callable("cycle", [sp](Interpreter& in, CallArgs& a) -> Value {
          if (a.args.empty()) in.fail("TypeError: no items for cycling given");
          return a.args[sp->index0 % a.args.size()];
        });
      }
      if (name == "changed") {
        std::shared_ptr<LoopState> sp = obj.loop_state();
        return Value::callable("changed", [sp](Interpreter&, CallArgs& a) -> Value {
          Value key = Value::tuple(a.args);
          if (sp->has_changed && equal(sp->last_changed, key)) return Value::boolean(false);
          sp->has_changed = true;
          sp->last_changed = key;
          return Value::boolean(true);
        });
      }
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

// obj[key] without the attribute fallback; nullopt means TypeError/LookupError.
std::optional<Value> python_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Value::Kind::Dict: {
      if (!hashable(key)) return std::nullopt;
      if (const Value* v = obj.dict().find(key)) return *v;
      return std::nullopt;
    }
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      if (!key.is_integral()) return std::nullopt;
      int64_t i = key.as_int();
      const int64_t n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return std::nullopt;
      return obj.items()[static_cast<size_t>(i)];
    }
    case Value::Kind::String: {
      if (!key.is_integral()) return std::nullopt;
      std::u32string u = py::decode(obj.str());
      int64_t i = key.as_int();
      const int64_t n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return std::nullopt;
      std::string s;
      py::append_utf8(s, u[static_cast<size_t>(i)]);
      return Value::string(std::move(s));
    }
    default: return std::nullopt;
  }
}

std::string object_name(const Value& obj) { return std::string("'") + obj.type_name() + " object'"; }

}  // namespace

Value get_attr(Interpreter& in, const Value& obj, const std::string& name) {
  (void)in;
  if (!name.empty() && name[0] == '_')
    return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.", true);
  if (std::optional<Value> v = python_attr(obj, name)) return *v;
  if (std::optional<Value> v = python_item(obj, Value::string(name))) return *v;
  return Value::undefined(object_name(obj) + " has no attribute '" + name + "'");
}

Value get_item(Interpreter& in, const Value& obj, const Value& key) {
  (void)in;
  if (std::optional<Value> v = python_item(obj, key)) return *v;
  if (key.is_string()) {
    if (!key.str().empty() && key.str()[0] == '_')
      return Value::undefined("access to attribute '" + key.str() + "' of '" + obj.type_name() + "' object is unsafe.", true);
    if (std::optional<Value> v = python_attr(obj, key.str())) return *v;
    return Value::undefined(object_name(obj) + " has no attribute " + py::repr(key.str()));
  }
  return Value::undefined(object_name(obj) + " has no element " + to_repr(key));
}

// ---- globals ----------------------------------------------------------------------------------------------

namespace {

Value g_range(Interpreter& in, CallArgs& a) {
  if (!a.kwargs.empty()) in.fail("TypeError: range() takes no keyword arguments");
  if (a.args.empty() || a.args.size() > 3) in.fail("TypeError: range expected 1 to 3 arguments");
  for (const Value& v : a.args)
    if (!v.is_integral()) in.fail(std::string("TypeError: '") + v.type_name() + "' object cannot be interpreted as an integer");
  int64_t start = 0, stop, step = 1;
  if (a.args.size() == 1) {
    stop = a.args[0].as_int();
  } else {
    start = a.args[0].as_int();
    stop = a.args[1].as_int();
    if (a.args.size() == 3) step = a.args[2].as_int();
  }
  if (step == 0) in.fail("ValueError: range() arg 3 must not be zero");
  // jinja2's sandbox refuses ranges longer than MAX_RANGE (100000).
  long double count = step > 0 ? (stop > start ? std::ceil(static_cast<long double>(stop - start) / step) : 0)
                               : (start > stop ? std::ceil(static_cast<long double>(start - stop) / -step) : 0);
  if (count > 100000) in.fail("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  List l;
  l.reserve(static_cast<size_t>(count));
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) l.push_back(Value::integer(i));
  return Value::list(std::move(l));
}

Value g_dict(Interpreter& in, CallArgs& a) {
  Dict d;
  if (a.args.size() > 1) in.fail("TypeError: dict expected at most 1 argument");
  if (a.args.size() == 1) {
    const Value& src = a.args[0];
    if (src.is_dict()) {
      d = src.dict();
    } else {
      for (const Value& pair : iterate(in, src)) {
        std::vector<Value> kv = iterate(in, pair);
        if (kv.size() != 2) in.fail("ValueError: dictionary update sequence element has wrong length");
        if (!hashable(kv[0])) in.fail(std::string("TypeError: unhashable type: '") + kv[0].type_name() + "'");
        d.set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [k, v] : a.kwargs) d.set(Value::string(k), v);
  return Value::dict(std::move(d));
}

Value g_namespace(Interpreter& in, CallArgs& a) {
  Dict d;
  if (a.args.size() > 1) in.fail("TypeError: namespace expected at most 1 positional argument");
  if (a.args.size() == 1) {
    if (!a.args[0].is_dict()) in.fail("TypeError: namespace() argument must be a mapping");
    d = a.args[0].dict();
  }
  for (auto& [k, v] : a.kwargs) d.set(Value::string(k), v);
  return Value::namespace_(std::move(d));
}

Value g_raise_exception(Interpreter& in, CallArgs& a) {
  const Value* m = arg(a, 0, "message");
  in.fail("raise_exception: " + (m ? to_str(*m) : std::string()));
}

Value g_strftime_now(Interpreter& in, CallArgs& a) {
  const Value* f = arg(a, 0, "format");
  if (!f || !f->is_string()) in.fail("TypeError: strftime_now() argument must be str");
  std::time_t t = in.now();
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[1024];
  const size_t n = std::strftime(buf, sizeof buf, f->str().c_str(), &tm);
  if (n == 0 && !f->str().empty()) return Value::string("");
  return Value::string(std::string(buf, n));
}

Value g_cycler(Interpreter& in, CallArgs& a) {
  auto items = std::make_shared<List>(a.args);
  auto pos = std::make_shared<size_t>(0);
  Dict d;
  d.set(Value::string("next"), Value::callable("next", [items, pos](Interpreter& inner, CallArgs&) -> Value {
          if (items->empty()) inner.fail("cycler has no items");
          Value v = (*items)[*pos % items->size()];
          ++*pos;
          return v;
        }));
  d.set(Value::string("reset"), Value::callable("reset", [pos](Interpreter&, CallArgs&) -> Value {
          *pos = 0;
          return Value::none();
        }));
  (void)in;
  return Value::namespace_(std::move(d));
}

Value g_joiner(Interpreter& in, CallArgs& a) {
  const Value* sep = arg(a, 0, "sep");
  std::string s = sep ? to_str(*sep) : ", ";
  auto used = std::make_shared<bool>(false);
  (void)in;
  return Value::callable("joiner", [s, used](Interpreter&, CallArgs&) -> Value {
    if (!*used) {
      *used = true;
      return Value::string("");
    }
    return Value::string(s);
  });
}

}  // namespace

Value find_global(std::string_view name) {
  if (name == "range") return Value::callable("range", g_range);
  if (name == "dict") return Value::callable("dict", g_dict);
  if (name == "namespace") return Value::callable("namespace", g_namespace);
  if (name == "raise_exception") return Value::callable("raise_exception", g_raise_exception);
  if (name == "strftime_now") return Value::callable("strftime_now", g_strftime_now);
  if (name == "cycler") return Value::callable("cycler", g_cycler);
  if (name == "joiner") return Value::callable("joiner", g_joiner);
  return Value::undefined();
}

}  // namespace gemma4::jinja
