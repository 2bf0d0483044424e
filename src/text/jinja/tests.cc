// jinja2's builtin tests (jinja2/tests.py): `x is defined`, `x is string`, `x is divisibleby 3` ...
#include <cmath>
#include <unordered_map>

#include "text/jinja/builtins.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/pystr.h"

namespace gemma4::jinja {

namespace {

const Value& need_arg(Interpreter& in, CallArgs& a, const char* test) {
  if (a.args.empty()) {
    if (!a.kwargs.empty()) return a.kwargs[0].second;
    in.fail(std::string("TypeError: test '") + test + "' needs an argument");
  }
  return a.args[0];
}

int64_t int_mod(Interpreter& in, const Value& v, int64_t m, const char* test) {
  if (v.is_undefined()) in.fail_undefined(v);
  if (v.is_float()) return static_cast<int64_t>(std::fmod(v.as_double(), static_cast<double>(m)));
  if (!v.is_integral()) in.fail(std::string("TypeError: not all arguments converted during string formatting (test '") + test + "')");
  return v.as_int() % m;
}

bool t_odd(Interpreter& in, const Value& v, CallArgs&) { return int_mod(in, v, 2, "odd") != 0; }
bool t_even(Interpreter& in, const Value& v, CallArgs&) { return int_mod(in, v, 2, "even") == 0; }
bool t_divisibleby(Interpreter& in, const Value& v, CallArgs& a) {
  const Value& n = need_arg(in, a, "divisibleby");
  if (n.is_undefined()) in.fail_undefined(n);
  if (!n.is_number() || !v.is_number()) in.fail("TypeError: divisibleby needs numbers");
  if (n.as_double() == 0) in.fail("ZeroDivisionError: integer division or modulo by zero");
  if (v.is_float() || n.is_float()) return std::fmod(v.as_double(), n.as_double()) == 0;
  return v.as_int() % n.as_int() == 0;
}
bool t_defined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_false(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_true(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_number(Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }
bool t_lower(Interpreter&, const Value& v, CallArgs&) { return py::islower(to_str(v)); }
bool t_upper(Interpreter&, const Value& v, CallArgs&) { return py::isupper(to_str(v)); }
// Python: len(value) and value.__getitem__ both exist.
bool t_sequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_tuple() || v.is_dict();
}
bool t_iterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_tuple() || v.is_dict() || v.is_generator() ||
         v.is_loop();
}
bool t_callable(Interpreter&, const Value& v, CallArgs&) { return v.is_callable() || v.is_loop(); }
bool t_escaped(Interpreter&, const Value& v, CallArgs&) { return v.is_markup(); }
bool t_sameas(Interpreter& in, const Value& v, CallArgs& a) { return same(v, need_arg(in, a, "sameas")); }
bool t_in(Interpreter& in, const Value& v, CallArgs& a) { return contains(in, need_arg(in, a, "in"), v); }
bool t_eq(Interpreter& in, const Value& v, CallArgs& a) { return equal(v, need_arg(in, a, "eq")); }
bool t_ne(Interpreter& in, const Value& v, CallArgs& a) { return !equal(v, need_arg(in, a, "ne")); }

int ordered(Interpreter& in, const Value& x, const Value& y, const char* op) {
  if (x.is_undefined()) in.fail_undefined(x);
  if (y.is_undefined()) in.fail_undefined(y);
  bool ok = true;
  const int c = compare(x, y, &ok);
  if (!ok)
    in.fail(std::string("TypeError: '") + op + "' not supported between instances of '" + x.type_name() + "' and '" +
            y.type_name() + "'");
  return c;
}
bool t_lt(Interpreter& in, const Value& v, CallArgs& a) { return ordered(in, v, need_arg(in, a, "lt"), "<") < 0; }
bool t_le(Interpreter& in, const Value& v, CallArgs& a) { return ordered(in, v, need_arg(in, a, "le"), "<=") <= 0; }
bool t_gt(Interpreter& in, const Value& v, CallArgs& a) { return ordered(in, v, need_arg(in, a, "gt"), ">") > 0; }
bool t_ge(Interpreter& in, const Value& v, CallArgs& a) { return ordered(in, v, need_arg(in, a, "ge"), ">=") >= 0; }
bool t_filter(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && find_filter(v.str()) != nullptr; }
bool t_test(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && find_test(v.str()) != nullptr; }

const std::unordered_map<std::string_view, TestFn>& table() {
  static const std::unordered_map<std::string_view, TestFn> t = {
      {"odd", t_odd},         {"even", t_even},         {"divisibleby", t_divisibleby},
      {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none},
      {"boolean", t_boolean}, {"false", t_false},       {"true", t_true},
      {"integer", t_integer}, {"float", t_float},       {"number", t_number},
      {"string", t_string},   {"mapping", t_mapping},   {"lower", t_lower},
      {"upper", t_upper},     {"sequence", t_sequence}, {"iterable", t_iterable},
      {"callable", t_callable}, {"escaped", t_escaped}, {"sameas", t_sameas},
      {"in", t_in},           {"eq", t_eq},             {"equalto", t_eq},
      {"==", t_eq},           {"ne", t_ne},             {"!=", t_ne},
      {"lt", t_lt},           {"lessthan", t_lt},       {"<", t_lt},
      {"le", t_le},           {"<=", t_le},             {"gt", t_gt},
      {"greaterthan", t_gt},  {">", t_gt},              {"ge", t_ge},
      {">=", t_ge},           {"filter", t_filter},     {"test", t_test},
  };
  return t;
}

}  // namespace

TestFn find_test(std::string_view name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second;
}

}  // namespace gemma4::jinja
