// The values a Jinja template computes with, modelled on the Python objects jinja2 sees: None, bool, int,
// float, str (optionally "Markup", jinja2's safe string), list, tuple, dict (insertion-ordered, any hashable
// key), jinja2's Undefined, namespace objects, the loop object and callables (macros, builtins, bound methods).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4::jinja {

class Value;
class Interpreter;
struct LoopState;

using List = std::vector<Value>;

struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

// A callable: builtin function, bound method or macro. `fn` receives the interpreter for re-entrant calls.
struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

class Value {
 public:
  // Generator: what jinja2's map/select/reject/items/unique/reverse filters return (a one-pass iterator:
  // always true, no len(), not JSON serialisable). `str()` keeps its Python type name for messages.
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Loop, Callable, Generator };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = {}, bool unsafe = false);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double f);
  static Value string(std::string s, bool markup = false);
  static Value list(List items);
  static Value tuple(List items);
  static Value dict(Dict d);
  static Value generator(List items, std::string type_name);
  static Value namespace_(Dict d);
  static Value callable(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);
  static Value loop(std::shared_ptr<LoopState> state);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }  // not bool
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_integral() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }  // Python int incl. bool
  bool is_string() const { return kind_ == Kind::String; }
  bool is_markup() const { return kind_ == Kind::String && markup_; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_tuple() const { return kind_ == Kind::Tuple; }
  bool is_sequence_like() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_loop() const { return kind_ == Kind::Loop; }
  bool is_callable() const { return kind_ == Kind::Callable; }
  bool is_generator() const { return kind_ == Kind::Generator; }
  bool is_unsafe_undefined() const { return kind_ == Kind::Undefined && markup_; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return s_; }  // String; for Undefined the hint
  const List& items() const { return *list_; }
  const std::shared_ptr<List>& list_ptr() const { return list_; }
  const Dict& dict() const { return *dict_; }
  Dict& mutable_dict() const { return *dict_; }  // namespaces only
  const std::shared_ptr<Dict>& dict_ptr() const { return dict_; }
  const Callable& fn() const { return *fn_; }
  const std::shared_ptr<LoopState>& loop_state() const { return loop_; }

  const char* type_name() const;  // Python's type name, for error messages

 private:
  Kind kind_ = Kind::Undefined;
  bool markup_ = false;  // String: Markup; Undefined: raises SecurityError when used (sandbox)
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> fn_;
  std::shared_ptr<LoopState> loop_;
};

// Python semantics.
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);  // ==
bool same(const Value& a, const Value& b);   // `is`
bool hashable(const Value& v);
// <, for sorting and comparison operators; throws TypeErrorLike via the callback message when unorderable.
// Returns -1/0/1; sets *ok=false when Python raises TypeError.
int compare(const Value& a, const Value& b, bool* ok);
std::string to_str(const Value& v);   // str(v)
std::string to_repr(const Value& v);  // repr(v)

struct JsonOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;  // when has_indent
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
};
// json.dumps(v); returns false (with *what) when Python raises (Undefined, callables, non-str keys ...).
bool to_json(const Value& v, const JsonOptions& opt, std::string& out, std::string* what);

}  // namespace gemma4::jinja
