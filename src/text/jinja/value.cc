#include "text/jinja/value.h"

#include <algorithm>
#include <cmath>

#include "text/jinja/pystr.h"

namespace gemma4::jinja {

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : items)
    if (!k.is_string() && equal(k, key)) return &v;
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::undefined(std::string hint, bool unsafe) {
  Value v;
  v.s_ = std::move(hint);
  v.markup_ = unsafe;
  return v;
}
Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.b_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.i_ = i;
  return v;
}
Value Value::floating(double f) {
  Value v;
  v.kind_ = Kind::Float;
  v.f_ = f;
  return v;
}
Value Value::string(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::String;
  v.s_ = std::move(s);
  v.markup_ = markup;
  return v;
}
Value Value::list(List items) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::tuple(List items) {
  Value v;
  v.kind_ = Kind::Tuple;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::generator(List items, std::string type_name) {
  Value v;
  v.kind_ = Kind::Generator;
  v.list_ = std::make_shared<List>(std::move(items));
  v.s_ = std::move(type_name);
  return v;
}
Value Value::namespace_(Dict d) {
  Value v;
  v.kind_ = Kind::Namespace;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}
Value Value::loop(std::shared_ptr<LoopState> state) {
  Value v;
  v.kind_ = Kind::Loop;
  v.loop_ = std::move(state);
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return floating(static_cast<double>(u));
      return integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(string(it.key()), from_json(it.value()));
      return dict(std::move(d));
    }
    default: return undefined();
  }
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return markup_ ? "Markup" : "str";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Loop: return "LoopContext";
    case Kind::Callable: return "function";
    case Kind::Generator: return s_.c_str();
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.as_bool();
    case Value::Kind::Int: return v.as_int() != 0;
    case Value::Kind::Float: return v.as_double() != 0.0;
    case Value::Kind::String: return !v.str().empty();
    case Value::Kind::List:
    case Value::Kind::Tuple: return !v.items().empty();
    case Value::Kind::Dict: return !v.dict().items.empty();
    default: return true;
  }
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.str() == b.str();
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      if (a.list_ptr() == b.list_ptr()) return true;
      const List& x = a.items();
      const List& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      if (a.dict_ptr() == b.dict_ptr()) return true;
      const Dict& x = a.dict();
      const Dict& y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equal(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::Namespace: return a.dict_ptr() == b.dict_ptr();
    case Value::Kind::Loop: return a.loop_state() == b.loop_state();
    case Value::Kind::Callable: return &a.fn() == &b.fn();
    case Value::Kind::Generator: return a.list_ptr() == b.list_ptr();
    default: return false;
  }
}

bool same(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::None: return true;
    case Value::Kind::Bool: return a.as_bool() == b.as_bool();
    case Value::Kind::Int: return a.as_int() == b.as_int() && a.as_int() >= -5 && a.as_int() <= 256;
    case Value::Kind::String: return a.str() == b.str();
    case Value::Kind::List:
    case Value::Kind::Tuple: return a.list_ptr() == b.list_ptr();
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return a.dict_ptr() == b.dict_ptr();
    default: return equal(a, b);
  }
}

bool hashable(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::List:
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return false;
    case Value::Kind::Tuple:
      for (const Value& e : v.items())
        if (!hashable(e)) return false;
      return true;
    default: return true;
  }
}

int compare(const Value& a, const Value& b, bool* ok) {
  *ok = true;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
    const List& x = a.items();
    const List& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equal(x[i], y[i])) continue;
      return compare(x[i], y[i], ok);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  *ok = false;
  return 0;
}

namespace {

void append_str(std::string& out, const Value& v, bool as_repr);

void append_seq(std::string& out, const List& items, char open, char close, bool tuple) {
  out.push_back(open);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    append_str(out, items[i], true);
  }
  if (tuple && items.size() == 1) out.push_back(',');
  out.push_back(close);
}

void append_str(std::string& out, const Value& v, bool as_repr) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      if (as_repr) out += "Undefined";
      return;
    case Value::Kind::None: out += "None"; return;
    case Value::Kind::Bool: out += v.as_bool() ? "True" : "False"; return;
    case Value::Kind::Int: out += std::to_string(v.as_int()); return;
    case Value::Kind::Float: out += py::float_repr(v.as_double()); return;
    case Value::Kind::String:
      if (!as_repr) {
        out += v.str();
      } else if (v.is_markup()) {
        out += "Markup(" + py::repr(v.str()) + ")";
      } else {
        out += py::repr(v.str());
      }
      return;
    case Value::Kind::List: append_seq(out, v.items(), '[', ']', false); return;
    case Value::Kind::Tuple: append_seq(out, v.items(), '(', ')', true); return;
    case Value::Kind::Dict: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.dict().items) {
        if (!first) out += ", ";
        first = false;
        append_str(out, k, true);
        out += ": ";
        append_str(out, e, true);
      }
      out.push_back('}');
      return;
    }
    case Value::Kind::Namespace: {
      out += "<Namespace {";
      bool first = true;
      for (const auto& [k, e] : v.dict().items) {
        if (!first) out += ", ";
        first = false;
        append_str(out, k, true);
        out += ": ";
        append_str(out, e, true);
      }
      out += "}>";
      return;
    }
    case Value::Kind::Loop: out += "<LoopContext>"; return;
    case Value::Kind::Callable: out += "<function " + v.fn().name + ">"; return;
    case Value::Kind::Generator: out += "<" + v.str() + " object>"; return;
  }
}

bool json_key(const Value& k, std::string& key, std::string* what) {
  switch (k.kind()) {
    case Value::Kind::String: key = k.str(); return true;
    case Value::Kind::None: key = "null"; return true;
    case Value::Kind::Bool: key = k.as_bool() ? "true" : "false"; return true;
    case Value::Kind::Int: key = std::to_string(k.as_int()); return true;
    case Value::Kind::Float: key = py::float_repr(k.as_double()); return true;
    default:
      *what = std::string("keys must be str, int, float, bool or None, not ") + k.type_name();
      return false;
  }
}

bool json_rec(const Value& v, const JsonOptions& o, std::string& out, std::string* what, int level) {
  if (level > 500) {
    *what = "maximum recursion depth exceeded while encoding a JSON object";
    return false;
  }
  auto newline = [&](int lv) {
    out.push_back('\n');
    for (int i = 0; i < lv; ++i) out += o.indent;
  };
  switch (v.kind()) {
    case Value::Kind::None: out += "null"; return true;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return true;
    case Value::Kind::Int: out += std::to_string(v.as_int()); return true;
    case Value::Kind::Float: {
      const double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
      else out += py::float_repr(d);
      return true;
    }
    case Value::Kind::String: py::json_quote(out, v.str(), o.ensure_ascii); return true;
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      const List& items = v.items();
      if (items.empty()) {
        out += "[]";
        return true;
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_sep;
        if (o.has_indent) newline(level + 1);
        if (!json_rec(items[i], o, out, what, level + 1)) return false;
      }
      if (o.has_indent) newline(level);
      out.push_back(']');
      return true;
    }
    case Value::Kind::Dict: {
      const Dict& d = v.dict();
      if (d.items.empty()) {
        out += "{}";
        return true;
      }
      std::vector<std::pair<std::string, const Value*>> entries;
      entries.reserve(d.items.size());
      for (const auto& [k, e] : d.items) {
        std::string key;
        if (!json_key(k, key, what)) return false;
        entries.emplace_back(std::move(key), &e);
      }
      if (o.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      out.push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += o.item_sep;
        if (o.has_indent) newline(level + 1);
        py::json_quote(out, entries[i].first, o.ensure_ascii);
        out += o.key_sep;
        if (!json_rec(*entries[i].second, o, out, what, level + 1)) return false;
      }
      if (o.has_indent) newline(level);
      out.push_back('}');
      return true;
    }
    default:
      *what = std::string("Object of type ") + v.type_name() + " is not JSON serializable";
      return false;
  }
}

}  // namespace

std::string to_str(const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  append_str(out, v, false);
  return out;
}

std::string to_repr(const Value& v) {
  std::string out;
  append_str(out, v, true);
  return out;
}

bool to_json(const Value& v, const JsonOptions& opt, std::string& out, std::string* what) {
  return json_rec(v, opt, out, what, 0);
}

}  // namespace gemma4::jinja
