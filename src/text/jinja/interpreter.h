// Tree-walking evaluator of a parsed template with jinja2's runtime semantics: scoping (loop bodies and
// macros are their own scopes, `if` is not), Undefined, loop objects, macros with caller(), namespaces,
// loop controls, and the limits that keep hostile templates from hanging or exhausting memory.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace gemma4::jinja {

struct Limits {
  size_t max_output_bytes = 32u << 20;    // rendered text, and any single string built while rendering
  size_t max_items = 1u << 20;            // elements of any list built while rendering
  uint64_t max_steps = 20'000'000;         // loop iterations + macro/function calls
  int max_call_depth = 200;               // nested macro calls (recursion)
};

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  Scope* parent = nullptr;
  Value* find(const std::string& name);
  void set(const std::string& name, Value v);
};

struct LoopState {
  std::shared_ptr<List> items;
  size_t index0 = 0;
  int depth0 = 0;
  const Node* node = nullptr;  // recursive loops call this For node again
  Scope* scope = nullptr;
  bool has_changed = false;
  Value last_changed;
};

class Interpreter {
 public:
  Interpreter(const Program& program, std::string origin, const Dict* context, Limits limits, std::time_t now);

  std::string render();

  // Re-entrant services for builtins.
  Value call(const Value& fn, CallArgs& args);
  Value apply_filter(const std::string& name, const Value& subject, CallArgs& args);
  bool apply_test(const std::string& name, const Value& subject, CallArgs& args);
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_undefined(const Value& undefined) const;  // UndefinedError / SecurityError
  void check_string(size_t bytes) const;
  void check_items(size_t n) const;
  void step();
  std::time_t now() const { return now_; }
  const Limits& limits() const { return limits_; }

 private:
  enum class Flow { Normal, Break, Continue };

  const Program& program_;
  std::string origin_;
  const Dict* context_;
  Limits limits_;
  std::time_t now_;
  Scope root_;
  std::string* out_ = nullptr;
  int line_ = 0;
  uint64_t steps_ = 0;
  int call_depth_ = 0;

  Flow exec_block(const std::vector<NodePtr>& body, Scope* scope);
  Flow exec(const Node* n, Scope* scope);
  void emit(std::string_view s);
  std::string capture(const std::vector<NodePtr>& body, Scope* scope);
  void exec_for(const Node* n, Scope* scope, const Value& iterable, int depth0);
  void assign(const Node* target, const Value& v, Scope* scope);
  Value make_macro(const Node* n);
  Value call_macro(const Node* n, CallArgs& args, const Value* caller);

  Value eval(const Node* n, Scope* scope);
  Value lookup(const std::string& name, Scope* scope);
  void eval_args(const Node* n, Scope* scope, CallArgs& out);
  Value eval_binary(const Node* n, Scope* scope);
  Value eval_compare(const Node* n, Scope* scope);
};

// Python-level helpers shared with the builtins.
std::vector<Value> iterate(Interpreter& in, const Value& v);  // list(v)
Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b);
bool contains(Interpreter& in, const Value& container, const Value& item);
Value slice_value(Interpreter& in, const Value& v, const Value& start, const Value& stop, const Value& step);

}  // namespace gemma4::jinja
