// jinja2's builtin filters (jinja2/filters.py) with transformers' `tojson` override
// (json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)).
#include <gemma4/error.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "text/jinja/builtins.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/pystr.h"

namespace gemma4::jinja {

namespace {

const Value* arg(CallArgs& a, size_t pos, const char* name) {
  if (pos < a.args.size()) return &a.args[pos];
  for (auto& [k, v] : a.kwargs)
    if (k == name) return &v;
  return nullptr;
}

bool flag(CallArgs& a, size_t pos, const char* name) {
  const Value* v = arg(a, pos, name);
  return v && truthy(*v);
}

// soft_str: str(value), keeping Markup.
Value soft_str(const Value& v) { return v.is_string() ? v : Value::string(to_str(v)); }

void check_no_undefined_use(Interpreter& in, const Value& v) {
  if (v.is_undefined()) in.fail_undefined(v);
}

Value f_abs(Interpreter& in, const Value& v, CallArgs&) {
  check_no_undefined_use(in, v);
  if (v.is_float()) return Value::floating(std::fabs(v.as_double()));
  if (v.is_integral()) return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
  in.fail(std::string("TypeError: bad operand type for abs(): '") + v.type_name() + "'");
}

Value f_capitalize(Interpreter&, const Value& v, CallArgs&) {
  Value s = soft_str(v);
  return Value::string(py::capitalize(s.str()), s.is_markup());
}

Value f_center(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* w = arg(a, 0, "width");
  const int64_t width = w ? w->as_int() : 80;
  std::string s = to_str(v);
  const int64_t len = static_cast<int64_t>(py::length(s));
  if (width <= len) return Value::string(s);
  in.check_string(static_cast<size_t>(width));
  const int64_t total = width - len;
  const int64_t left = total / 2 + (total & width & 1);
  return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
}

Value f_default(Interpreter&, const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default_value");
  const bool boolean = flag(a, 1, "boolean");
  if (v.is_undefined() || (boolean && !truthy(v))) return d ? *d : Value::string("");
  return v;
}

// Key for case-insensitive sorting: lower-cased strings, other values unchanged.
Value ignore_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py::lower(v.str()));
  return v;
}

void sort_values(Interpreter& in, std::vector<Value>& keys, std::vector<Value>& items, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  bool failed = false;
  std::string what;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    bool ok = true;
    // Python's sorted(reverse=True) keeps equal items in original order.
    const int c = reverse ? compare(keys[y], keys[x], &ok) : compare(keys[x], keys[y], &ok);
    if (!ok && !failed) {
      failed = true;
      what = std::string("TypeError: '<' not supported between instances of '") + keys[x].type_name() + "' and '" +
             keys[y].type_name() + "'";
    }
    return ok && c < 0;
  });
  if (failed) in.fail(what);
  std::vector<Value> sorted;
  sorted.reserve(items.size());
  for (size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
}

Value f_dictsort(Interpreter& in, const Value& v, CallArgs& a) {
  check_no_undefined_use(in, v);
  if (!v.is_dict()) in.fail("TypeError: dictsort filter needs a mapping");
  const bool cs = flag(a, 0, "case_sensitive");
  const Value* by = arg(a, 1, "by");
  const bool reverse = flag(a, 2, "reverse");
  int pos = 0;
  if (by) {
    if (by->is_string() && by->str() == "key") pos = 0;
    else if (by->is_string() && by->str() == "value") pos = 1;
    else in.fail("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
  }
  std::vector<Value> items, keys;
  for (const auto& [k, e] : v.dict().items) {
    items.push_back(Value::tuple({k, e}));
    keys.push_back(ignore_case(pos == 0 ? k : e, cs));
  }
  sort_values(in, keys, items, reverse);
  return Value::list(std::move(items));
}

Value f_escape(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_markup()) return v;
  return Value::string(py::html_escape(to_str(v)), true);
}

Value f_first(Interpreter& in, const Value& v, CallArgs&) {
  std::vector<Value> items = iterate(in, v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_generator()) in.fail("TypeError: '" + v.str() + "' object is not reversible");
  std::vector<Value> items = iterate(in, v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

// Python int(str) / float(str) parsing rules (whitespace and underscores allowed).
bool parse_int(const std::string& s0, int base, int64_t* out) {
  std::string s = py::strip(s0, nullptr, true, true);
  if (s.empty()) return false;
  size_t i = 0;
  bool neg = false;
  if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
  if ((base == 16 || base == 0) && s.size() > i + 1 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  if (base == 0) base = 10;
  if (i >= s.size()) return false;
  int64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      if (!prev_digit) return false;
      prev_digit = false;
      continue;
    }
    int d = (c >= '0' && c <= '9') ? c - '0' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) return false;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) return false;
    prev_digit = true;
  }
  if (!prev_digit) return false;
  *out = neg ? -v : v;
  return true;
}

bool parse_float(const std::string& s0, double* out) {
  std::string s = py::strip(s0, nullptr, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1])))
        return false;
      continue;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty()) return false;
  std::string low = py::lower(clean);
  std::string body = (low[0] == '+' || low[0] == '-') ? low.substr(1) : low;
  const bool neg = low[0] == '-';
  if (body == "inf" || body == "infinity") {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (body == "nan") {
    *out = NAN;
    return true;
  }
  for (char c : body)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  *out = std::strtod(clean.c_str(), &end);
  return end && *end == 0;
}

Value f_int(Interpreter&, const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  const Value* b = arg(a, 1, "base");
  const int base = b && b->is_integral() ? static_cast<int>(b->as_int()) : 10;
  Value dflt = d ? *d : Value::integer(0);
  if (v.is_string()) {
    int64_t r;
    if (parse_int(v.str(), base, &r)) return Value::integer(r);
    double f;
    if (parse_float(v.str(), &f) && std::isfinite(f)) return Value::integer(static_cast<int64_t>(f));
    return dflt;
  }
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.is_float()) {
    if (!std::isfinite(v.as_double())) return dflt;
    return Value::integer(static_cast<int64_t>(v.as_double()));
  }
  return dflt;
}

Value f_float(Interpreter&, const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  Value dflt = d ? *d : Value::floating(0.0);
  if (v.is_string()) {
    double f;
    if (parse_float(v.str(), &f)) return Value::floating(f);
    return dflt;
  }
  if (v.is_number()) return Value::floating(v.as_double());
  return dflt;
}

Value f_indent(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* w = arg(a, 0, "width");
  const bool first = flag(a, 1, "first");
  const bool blank = flag(a, 2, "blank");
  std::string ind;
  if (w && w->is_string()) ind = w->str();
  else ind = std::string(static_cast<size_t>(std::max<int64_t>(0, w ? w->as_int() : 4)), ' ');
  Value s = soft_str(v);
  std::vector<std::string> lines = py::splitlines(s.str() + "\n", false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) rv += "\n" + ind;
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? "" : lines[0];
    if (lines.size() > 1) {
      rv += "\n";
      for (size_t i = 1; i < lines.size(); ++i) {
        if (i > 1) rv += "\n";
        if (!lines[i].empty()) rv += ind;
        rv += lines[i];
      }
    }
  }
  if (first) rv = ind + rv;
  in.check_string(rv.size());
  return Value::string(std::move(rv), s.is_markup());
}

Value f_items(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::generator({}, "generator");
  if (!v.is_dict()) in.fail("TypeError: Can only get item pairs from a mapping.");
  List l;
  for (const auto& [k, e] : v.dict().items) l.push_back(Value::tuple({k, e}));
  return Value::generator(std::move(l), "generator");
}

// attribute="a.b.0" lookups as jinja2's make_attrgetter (environment.getitem per part).
Value attr_path(Interpreter& in, const Value& item, const std::string& path, const Value* dflt) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    int64_t idx;
    Value key = (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && parse_int(part, 10, &idx))
                    ? Value::integer(idx)
                    : Value::string(part);
    if (cur.is_undefined()) in.fail_undefined(cur);
    cur = get_item(in, cur, key);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cur.is_undefined() && dflt) return *dflt;
  return cur;
}

Value f_join(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "d");
  const Value* attr = arg(a, 1, "attribute");
  const std::string sep = d ? to_str(*d) : "";
  std::string out;
  bool first = true;
  for (const Value& e : iterate(in, v)) {
    Value x = attr && !attr->is_none() ? attr_path(in, e, to_str(*attr), nullptr) : e;
    if (!first) out += sep;
    first = false;
    out += to_str(x);
    in.check_string(out.size());
  }
  return Value::string(std::move(out));
}

Value f_length(Interpreter& in, const Value& v, CallArgs&) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return Value::integer(0);
    case Value::Kind::String: return Value::integer(static_cast<int64_t>(py::length(v.str())));
    case Value::Kind::List:
    case Value::Kind::Tuple: return Value::integer(static_cast<int64_t>(v.items().size()));
    case Value::Kind::Dict: return Value::integer(static_cast<int64_t>(v.dict().items.size()));
    case Value::Kind::Loop: return Value::integer(static_cast<int64_t>(v.loop_state()->items->size()));
    default: in.fail(std::string("TypeError: object of type '") + v.type_name() + "' has no len()");
  }
}

Value f_list(Interpreter& in, const Value& v, CallArgs&) { return Value::list(iterate(in, v)); }

Value f_lower(Interpreter&, const Value& v, CallArgs&) {
  Value s = soft_str(v);
  return Value::string(py::lower(s.str()), s.is_markup());
}
Value f_upper(Interpreter&, const Value& v, CallArgs&) {
  Value s = soft_str(v);
  return Value::string(py::upper(s.str()), s.is_markup());
}
Value f_title(Interpreter&, const Value& v, CallArgs&) {
  Value s = soft_str(v);
  return Value::string(py::title_jinja(s.str()), s.is_markup());
}

Value f_map(Interpreter& in, const Value& v, CallArgs& a) {
  // jinja2 maps nothing over a falsy value (None included) instead of failing to iterate it.
  std::vector<Value> items = truthy(v) ? iterate(in, v) : std::vector<Value>();
  List out;
  out.reserve(items.size());
  const Value* attr = nullptr;
  const Value* dflt = nullptr;
  for (auto& [k, x] : a.kwargs) {
    if (k == "attribute") attr = &x;
    else if (k == "default") dflt = &x;
  }
  if (attr && a.args.empty()) {
    for (const Value& e : items) out.push_back(attr_path(in, e, to_str(*attr), dflt));
    return Value::generator(std::move(out), "generator");
  }
  if (a.args.empty()) in.fail("FilterArgumentError: map requires a filter argument");
  const std::string name = to_str(a.args[0]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + 1, a.args.end());
  rest.kwargs = a.kwargs;
  for (const Value& e : items) {
    CallArgs copy = rest;
    out.push_back(in.apply_filter(name, e, copy));
  }
  return Value::generator(std::move(out), "generator");
}

Value select_impl(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  // jinja2 selects nothing from a falsy value (None included) instead of failing to iterate it.
  std::vector<Value> items = truthy(v) ? iterate(in, v) : std::vector<Value>();
  size_t pos = 0;
  std::string attr;
  if (by_attr) {
    if (a.args.empty()) in.fail("TypeError: Missing parameter for attribute name");
    attr = to_str(a.args[0]);
    pos = 1;
  }
  std::string test;
  CallArgs targs;
  const bool has_test = a.args.size() > pos;
  if (has_test) {
    test = to_str(a.args[pos]);
    targs.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(pos) + 1, a.args.end());
    targs.kwargs = a.kwargs;
  }
  List out;
  for (const Value& e : items) {
    Value x = by_attr ? attr_path(in, e, attr, nullptr) : e;
    bool r;
    if (has_test) {
      CallArgs copy = targs;
      r = in.apply_test(test, x, copy);
    } else {
      r = truthy(x);
    }
    if (r == keep) out.push_back(e);
  }
  return Value::generator(std::move(out), "generator");
}
Value f_select(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, false); }

Value minmax(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  const bool cs = flag(a, 0, "case_sensitive");
  const Value* attr = arg(a, 1, "attribute");
  std::vector<Value> items = iterate(in, v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  size_t best = 0;
  Value best_key;
  for (size_t i = 0; i < items.size(); ++i) {
    Value k = ignore_case(attr && !attr->is_none() ? attr_path(in, items[i], to_str(*attr), nullptr) : items[i], cs);
    if (i == 0) {
      best_key = k;
      continue;
    }
    bool ok = true;
    const int c = compare(k, best_key, &ok);
    if (!ok) in.fail(std::string("TypeError: '<' not supported between instances of '") + k.type_name() + "' and '" + best_key.type_name() + "'");
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}
Value f_max(Interpreter& in, const Value& v, CallArgs& a) { return minmax(in, v, a, true); }
Value f_min(Interpreter& in, const Value& v, CallArgs& a) { return minmax(in, v, a, false); }

Value f_replace(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* old = arg(a, 0, "old");
  const Value* repl = arg(a, 1, "new");
  const Value* count = arg(a, 2, "count");
  if (!old || !repl) in.fail("TypeError: replace() missing required arguments");
  Value s = soft_str(v);
  std::string r = py::replace(s.str(), to_str(*old), to_str(*repl), count && !count->is_none() ? count->as_int() : -1);
  in.check_string(r.size());
  return Value::string(std::move(r), s.is_markup());
}

Value f_reverse(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::u32string u = py::decode(v.str());
    std::reverse(u.begin(), u.end());
    return Value::string(py::encode(u), v.is_markup());
  }
  std::vector<Value> items = iterate(in, v);
  std::reverse(items.begin(), items.end());
  if (v.is_generator()) return Value::list(std::move(items));
  return Value::generator(std::move(items), v.is_list() ? "list_reverseiterator" : v.is_dict() ? "dict_reversekeyiterator" : "reversed");
}

Value f_round(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* p = arg(a, 0, "precision");
  const Value* m = arg(a, 1, "method");
  const int64_t precision = p ? p->as_int() : 0;
  const std::string method = m ? to_str(*m) : "common";
  check_no_undefined_use(in, v);
  if (!v.is_number()) in.fail(std::string("TypeError: type ") + v.type_name() + " doesn't define __round__ method");
  if (method != "common" && method != "ceil" && method != "floor")
    in.fail("FilterArgumentError: method must be common, ceil or floor");
  if (method == "common") {
    if (v.is_integral() && !(p && p->is_float())) return Value::integer(v.as_int());
    // Python rounds half to even on the exact binary value; printing with %.*f rounds the same way.
    char buf[512];
    if (precision >= 0 && precision < 300) {
      std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), v.as_double());
      return Value::floating(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(precision));
    return Value::floating(std::nearbyint(v.as_double() * scale) / scale);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  return Value::floating((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_safe(Interpreter&, const Value& v, CallArgs&) { return Value::string(to_str(v), true); }

Value f_sort(Interpreter& in, const Value& v, CallArgs& a) {
  const bool reverse = flag(a, 0, "reverse");
  const bool cs = flag(a, 1, "case_sensitive");
  const Value* attr = arg(a, 2, "attribute");
  std::vector<Value> items = iterate(in, v);
  std::vector<Value> keys;
  keys.reserve(items.size());
  for (const Value& e : items)
    keys.push_back(ignore_case(attr && !attr->is_none() ? attr_path(in, e, to_str(*attr), nullptr) : e, cs));
  sort_values(in, keys, items, reverse);
  return Value::list(std::move(items));
}

Value f_string(Interpreter&, const Value& v, CallArgs&) { return soft_str(v); }

Value f_sum(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* attr = arg(a, 0, "attribute");
  const Value* start = arg(a, 1, "start");
  Value total = start ? *start : Value::integer(0);
  for (const Value& e : iterate(in, v))
    total = binary_op(in, "+", total, attr && !attr->is_none() ? attr_path(in, e, to_str(*attr), nullptr) : e);
  return total;
}

Value f_tojson(Interpreter& in, const Value& v, CallArgs& a) {
  JsonOptions o;
  const Value* ea = arg(a, 0, "ensure_ascii");
  const Value* indent = arg(a, 1, "indent");
  const Value* seps = arg(a, 2, "separators");
  const Value* sk = arg(a, 3, "sort_keys");
  o.ensure_ascii = ea && truthy(*ea);
  o.sort_keys = sk && truthy(*sk);
  if (indent && !indent->is_none()) {
    o.has_indent = true;
    if (indent->is_string()) o.indent = indent->str();
    else if (indent->is_integral()) o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent->as_int())), ' ');
    else in.fail(std::string("TypeError: can't multiply sequence by non-int of type '") + indent->type_name() + "'");
    o.item_sep = ",";
  }
  if (seps && !seps->is_none()) {
    std::vector<Value> parts = iterate(in, *seps);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string())
      in.fail("ValueError: separators must be a (item_separator, key_separator) pair of strings");
    o.item_sep = parts[0].str();
    o.key_sep = parts[1].str();
  }
  std::string out, what;
  if (!to_json(v, o, out, &what)) in.fail("TypeError: " + what);
  in.check_string(out.size());
  return Value::string(std::move(out));
}

Value f_trim(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* chars = arg(a, 0, "chars");
  Value s = soft_str(v);
  std::string c;
  if (chars && !chars->is_none()) {
    if (!chars->is_string()) in.fail("TypeError: strip arg must be None or str");
    c = chars->str();
  }
  return Value::string(py::strip(s.str(), chars && !chars->is_none() ? &c : nullptr, true, true), s.is_markup());
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& a) {
  const bool cs = flag(a, 0, "case_sensitive");
  const Value* attr = arg(a, 1, "attribute");
  List out;
  std::vector<Value> seen;
  for (const Value& e : iterate(in, v)) {
    Value k = ignore_case(attr && !attr->is_none() ? attr_path(in, e, to_str(*attr), nullptr) : e, cs);
    if (!hashable(k)) in.fail(std::string("TypeError: unhashable type: '") + k.type_name() + "'");
    bool dup = false;
    for (const Value& s : seen)
      if (equal(s, k)) {
        dup = true;
        break;
      }
    if (dup) continue;
    seen.push_back(k);
    out.push_back(e);
  }
  return Value::generator(std::move(out), "generator");
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : py::decode(to_str(v))) {
    const bool w = py::is_alnum(c) || c == '_';
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

Value f_format(Interpreter& in, const Value& v, CallArgs& a) {
  Value args;
  if (!a.kwargs.empty()) {
    Dict d;
    for (auto& [k, x] : a.kwargs) d.set(Value::string(k), x);
    args = Value::dict(std::move(d));
  } else {
    args = Value::tuple(a.args);
  }
  return binary_op(in, "%", soft_str(v), args);
}

Value f_batch(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* n = arg(a, 0, "linecount");
  const Value* fill = arg(a, 1, "fill_with");
  if (!n || !n->is_integral() || n->as_int() <= 0) in.fail("ValueError: batch size must be a positive integer");
  const size_t size = static_cast<size_t>(n->as_int());
  List out, cur;
  for (const Value& e : iterate(in, v)) {
    cur.push_back(e);
    if (cur.size() == size) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none())
      while (cur.size() < size) cur.push_back(*fill);
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::generator(std::move(out), "generator");
}

Value f_attr(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* n = arg(a, 0, "name");
  if (!n) in.fail("TypeError: attr filter needs a name");
  check_no_undefined_use(in, v);
  return get_attr(in, v, to_str(*n));
}

Value f_truncate(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* len = arg(a, 0, "length");
  const bool killwords = flag(a, 1, "killwords");
  const Value* end = arg(a, 2, "end");
  const Value* leeway = arg(a, 3, "leeway");
  const int64_t length = len ? len->as_int() : 255;
  const std::string e = end ? to_str(*end) : "...";
  const int64_t lw = leeway && !leeway->is_none() ? leeway->as_int() : 5;
  std::u32string s = py::decode(to_str(v));
  const int64_t elen = static_cast<int64_t>(py::length(e));
  if (length < elen) in.fail("AssertionError: expected length >= " + std::to_string(elen) + ", got " + std::to_string(length));
  if (lw < 0) in.fail("AssertionError: expected leeway >= 0");
  if (static_cast<int64_t>(s.size()) <= length + lw) return Value::string(py::encode(s));
  std::u32string cut = s.substr(0, static_cast<size_t>(length - elen));
  if (killwords) return Value::string(py::encode(cut) + e);
  const size_t sp = cut.rfind(U' ');
  if (sp != std::u32string::npos) cut = cut.substr(0, sp);
  return Value::string(py::encode(cut) + e);
}

const std::unordered_map<std::string_view, FilterFn>& table() {
  static const std::unordered_map<std::string_view, FilterFn> t = {
      {"abs", f_abs},
      {"attr", f_attr},
      {"batch", f_batch},
      {"capitalize", f_capitalize},
      {"center", f_center},
      {"count", f_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", f_first},
      {"float", f_float},
      {"format", f_format},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"sort", f_sort},
      {"string", f_string},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"truncate", f_truncate},
      {"unique", f_unique},
      {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return t;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second;
}

}  // namespace gemma4::jinja
