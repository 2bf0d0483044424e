#include "text/jinja/interpreter.h"

#include <gemma4/error.h>

#include <cmath>

#include "text/jinja/builtins.h"
#include "text/jinja/pystr.h"

namespace gemma4::jinja {

Value* Scope::find(const std::string& name) {
  for (Scope* s = this; s; s = s->parent)
    for (auto& [k, v] : s->vars)
      if (k == name) return &v;
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(name, std::move(v));
}

Interpreter::Interpreter(const Program& program, std::string origin, const Dict* context, Limits limits,
                         std::time_t now)
    : program_(program), origin_(std::move(origin)), context_(context), limits_(limits), now_(now) {}

void Interpreter::fail(const std::string& what) const {
  throw Error("jinja template " + origin_ + ", line " + std::to_string(line_) + ": " + what);
}

void Interpreter::fail_undefined(const Value& u) const {
  if (u.is_unsafe_undefined()) fail("SecurityError: " + u.str());
  fail("UndefinedError: " + (u.str().empty() ? std::string("value is undefined") : u.str()));
}

void Interpreter::check_string(size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    fail("output limit exceeded: a string of " + std::to_string(bytes) + " bytes (limit " +
         std::to_string(limits_.max_output_bytes) + ")");
}

void Interpreter::check_items(size_t n) const {
  if (n > limits_.max_items)
    fail("size limit exceeded: a list of " + std::to_string(n) + " items (limit " + std::to_string(limits_.max_items) + ")");
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps)
    fail("step limit exceeded: more than " + std::to_string(limits_.max_steps) + " loop iterations and calls");
}

std::string Interpreter::render() {
  std::string out;
  out_ = &out;
  root_.vars.clear();
  Flow f = exec_block(program_.body, &root_);
  (void)f;  // break/continue outside a loop: jinja2's loopcontrols reject them at compile time; we ignore
  out_ = nullptr;
  return out;
}

void Interpreter::emit(std::string_view s) {
  if (s.empty()) return;
  if (out_->size() + s.size() > limits_.max_output_bytes)
    fail("output limit exceeded: more than " + std::to_string(limits_.max_output_bytes) + " bytes rendered");
  out_->append(s);
}

std::string Interpreter::capture(const std::vector<NodePtr>& body, Scope* scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    exec_block(body, scope);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buf;
}

Interpreter::Flow Interpreter::exec_block(const std::vector<NodePtr>& body, Scope* scope) {
  for (const auto& n : body) {
    Flow f = exec(n.get(), scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Node* n, Scope* scope) {
  line_ = n->line;
  switch (n->kind) {
    case NodeKind::Data: emit(n->name); return Flow::Normal;
    case NodeKind::Output: {
      Value v = eval(n->a.get(), scope);
      if (v.is_string()) emit(v.str());
      else emit(to_str(v));
      return Flow::Normal;
    }
    case NodeKind::If: {
      if (truthy(eval(n->a.get(), scope))) return exec_block(n->body, scope);
      return exec_block(n->else_body, scope);
    }
    case NodeKind::For: {
      Value iterable = eval(n->b.get(), scope);
      exec_for(n, scope, iterable, 0);
      return Flow::Normal;
    }
    case NodeKind::Set: {
      Value v = eval(n->b.get(), scope);
      line_ = n->line;
      assign(n->a.get(), v, scope);
      return Flow::Normal;
    }
    case NodeKind::SetBlock: {
      Scope inner;
      inner.parent = scope;
      Value v = Value::string(capture(n->body, &inner));
      if (n->b) {
        // The filter chain's innermost subject is the captured text.
        std::vector<const Node*> chain;
        for (const Node* f = n->b.get(); f; f = f->a.get()) chain.push_back(f);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
          CallArgs args;
          eval_args(*it, scope, args);
          line_ = (*it)->line;
          if ((*it)->flag) fail("No filter named '" + (*it)->name + "' found.");
          v = apply_filter((*it)->name, v, args);
        }
      }
      line_ = n->line;
      assign(n->a.get(), v, scope);
      return Flow::Normal;
    }
    case NodeKind::FilterBlock: {
      Scope inner;
      inner.parent = scope;
      Value v = Value::string(capture(n->body, &inner));
      std::vector<const Node*> chain;
      for (const Node* f = n->b.get(); f; f = f->a.get()) chain.push_back(f);
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        CallArgs args;
        eval_args(*it, scope, args);
        line_ = (*it)->line;
        if ((*it)->flag) fail("No filter named '" + (*it)->name + "' found.");
        v = apply_filter((*it)->name, v, args);
      }
      emit(to_str(v));
      return Flow::Normal;
    }
    case NodeKind::Macro: scope->set(n->name, make_macro(n)); return Flow::Normal;
    case NodeKind::CallBlock: {
      // caller() renders the block body in a scope below the current one, with the caller's parameters.
      const Node* block = n;
      Scope* outer = scope;
      Value caller = Value::callable("caller", [this, block, outer](Interpreter&, CallArgs& args) -> Value {
        Scope s;
        s.parent = outer;
        for (size_t i = 0; i < block->params.size(); ++i) {
          const Param& p = block->params[i];
          Value v;
          bool found = false;
          if (i < args.args.size()) {
            v = args.args[i];
            found = true;
          }
          for (auto& [k, kv] : args.kwargs)
            if (k == p.name) {
              v = kv;
              found = true;
            }
          if (!found) v = p.default_value ? eval(p.default_value.get(), &s) : Value::undefined("parameter '" + p.name + "' was not provided");
          s.set(p.name, v);
        }
        return Value::string(capture(block->body, &s));
      });
      const Node* call = n->a.get();
      Value fn = eval(call->a.get(), scope);
      CallArgs args;
      eval_args(call, scope, args);
      args.kwargs.emplace_back("caller", caller);
      line_ = n->line;
      if (fn.is_undefined()) fail_undefined(fn);
      Value r = this->call(fn, args);
      emit(to_str(r));
      return Flow::Normal;
    }
    case NodeKind::With: {
      Scope inner;
      inner.parent = scope;
      for (const Param& p : n->params) inner.set(p.name, eval(p.default_value.get(), scope));
      return exec_block(n->body, &inner);
    }
    case NodeKind::Break: return Flow::Break;
    case NodeKind::Continue: return Flow::Continue;
    default: fail("internal error: not a statement");
  }
}

void Interpreter::assign(const Node* target, const Value& v, Scope* scope) {
  if (target->kind == NodeKind::Name) {
    scope->set(target->name, v);
    return;
  }
  if (target->kind == NodeKind::NSRef) {
    Value* ns = scope->find(target->name);
    if (!ns || !ns->is_namespace()) fail("TemplateRuntimeError: cannot assign attribute on non-namespace object");
    Dict& d = ns->mutable_dict();
    d.set(Value::string(target->attr), v);
    return;
  }
  // Tuple unpacking.
  std::vector<Value> items = iterate(*this, v);
  if (items.size() != target->args.size()) {
    if (items.size() < target->args.size())
      fail("ValueError: not enough values to unpack (expected " + std::to_string(target->args.size()) + ", got " +
           std::to_string(items.size()) + ")");
    fail("ValueError: too many values to unpack (expected " + std::to_string(target->args.size()) + ")");
  }
  for (size_t i = 0; i < items.size(); ++i) assign(target->args[i].get(), items[i], scope);
}

void Interpreter::exec_for(const Node* n, Scope* scope, const Value& iterable, int depth0) {
  std::vector<Value> all = iterate(*this, iterable);
  auto items = std::make_shared<List>();
  if (n->c) {
    for (const Value& item : all) {
      step();
      Scope s;
      s.parent = scope;
      assign(n->a.get(), item, &s);
      if (truthy(eval(n->c.get(), &s))) items->push_back(item);
    }
  } else {
    *items = std::move(all);
  }
  if (items->empty()) {
    exec_block(n->else_body, scope);
    return;
  }
  auto state = std::make_shared<LoopState>();
  state->items = items;
  state->depth0 = depth0;
  state->node = n->flag ? n : nullptr;
  state->scope = scope;
  Value loop = Value::loop(state);
  for (size_t i = 0; i < items->size(); ++i) {
    step();
    state->index0 = i;
    Scope s;
    s.parent = scope;
    s.vars.reserve(4);
    line_ = n->line;
    assign(n->a.get(), (*items)[i], &s);
    s.set("loop", loop);
    Flow f = exec_block(n->body, &s);
    if (f == Flow::Break) break;
  }
}

Value Interpreter::make_macro(const Node* n) {
  return Value::callable(n->name, [n](Interpreter& in, CallArgs& args) { return in.call_macro(n, args, nullptr); });
}

Value Interpreter::call_macro(const Node* n, CallArgs& args, const Value*) {
  if (call_depth_ >= limits_.max_call_depth)
    fail("recursion limit exceeded: more than " + std::to_string(limits_.max_call_depth) + " nested macro calls");
  Scope s;
  s.parent = &root_;
  const size_t np = n->params.size();
  std::vector<bool> bound(np, false);
  std::vector<Value> values(np);
  List varargs;
  for (size_t i = 0; i < args.args.size(); ++i) {
    if (i < np) {
      values[i] = args.args[i];
      bound[i] = true;
    } else if (n->uses_varargs) {
      varargs.push_back(args.args[i]);
    } else {
      fail("TypeError: macro '" + n->name + "' takes not more than " + std::to_string(np) + " argument(s)");
    }
  }
  Dict kwargs;
  Value caller;
  bool has_caller = false;
  for (auto& [k, v] : args.kwargs) {
    bool matched = false;
    for (size_t i = 0; i < np; ++i) {
      if (n->params[i].name == k) {
        if (bound[i]) fail("TypeError: macro '" + n->name + "' got multiple values for argument '" + k + "'");
        values[i] = v;
        bound[i] = true;
        matched = true;
      }
    }
    if (matched) continue;
    if (k == "caller" && n->uses_caller) {
      caller = v;
      has_caller = true;
    } else if (n->uses_kwargs) {
      kwargs.set(Value::string(k), v);
    } else {
      fail("TypeError: macro '" + n->name + "' takes no keyword argument '" + k + "'");
    }
  }
  ++call_depth_;
  struct Dec {
    int* d;
    ~Dec() { --*d; }
  } dec{&call_depth_};
  for (size_t i = 0; i < np; ++i) {
    const Param& p = n->params[i];
    if (!bound[i]) {
      values[i] = p.default_value ? eval(p.default_value.get(), &s)
                                  : Value::undefined("parameter '" + p.name + "' was not provided");
    }
    s.set(p.name, values[i]);
  }
  if (n->uses_varargs) s.set("varargs", Value::tuple(std::move(varargs)));
  if (n->uses_kwargs) s.set("kwargs", Value::dict(std::move(kwargs)));
  if (n->uses_caller) s.set("caller", has_caller ? caller : Value::undefined("'caller' is undefined"));
  const int saved_line = line_;
  std::string text = capture(n->body, &s);
  line_ = saved_line;
  return Value::string(std::move(text));
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) fail_undefined(fn);
  if (fn.is_loop()) {
    const auto& st = fn.loop_state();
    if (!st->node) fail("TypeError: Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.");
    if (args.args.size() != 1) fail("TypeError: loop() takes exactly one argument");
    if (call_depth_ >= limits_.max_call_depth)
      fail("recursion limit exceeded: more than " + std::to_string(limits_.max_call_depth) + " nested loop calls");
    ++call_depth_;
    struct Dec {
      int* d;
      ~Dec() { --*d; }
    } dec{&call_depth_};
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    try {
      exec_for(st->node, st->scope, args.args[0], st->depth0 + 1);
    } catch (...) {
      out_ = saved;
      throw;
    }
    out_ = saved;
    return Value::string(std::move(buf));
  }
  if (!fn.is_callable()) fail(std::string("TypeError: '") + fn.type_name() + "' object is not callable");
  step();
  return fn.fn().fn(*this, args);
}

Value Interpreter::apply_filter(const std::string& name, const Value& subject, CallArgs& args) {
  FilterFn f = find_filter(name);
  if (!f) fail("No filter named '" + name + "' found.");
  return f(*this, subject, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& subject, CallArgs& args) {
  TestFn f = find_test(name);
  if (!f) fail("No test named '" + name + "' found.");
  return f(*this, subject, args);
}

Value Interpreter::lookup(const std::string& name, Scope* scope) {
  if (Value* v = scope->find(name)) return *v;
  if (context_)
    if (const Value* v = context_->find(std::string_view(name))) return *v;
  Value g = find_global(name);
  if (!g.is_undefined()) return g;
  return Value::undefined("'" + name + "' is undefined");
}

void Interpreter::eval_args(const Node* n, Scope* scope, CallArgs& out) {
  for (const auto& a : n->args) out.args.push_back(eval(a.get(), scope));
  if (n->c) {
    Value extra = eval(n->c.get(), scope);
    for (Value& v : iterate(*this, extra)) out.args.push_back(std::move(v));
  }
  for (const auto& [k, v] : n->kwargs) out.kwargs.emplace_back(k, eval(v.get(), scope));
  if (n->d) {
    Value extra = eval(n->d.get(), scope);
    if (!extra.is_dict()) fail("TypeError: argument after ** must be a mapping");
    for (const auto& [k, v] : extra.dict().items) out.kwargs.emplace_back(to_str(k), v);
  }
}

Value Interpreter::eval(const Node* n, Scope* scope) {
  switch (n->kind) {
    case NodeKind::Const: return n->value;
    case NodeKind::Name: return lookup(n->name, scope);
    case NodeKind::Getattr: {
      Value obj = eval(n->a.get(), scope);
      line_ = n->line;
      if (obj.is_undefined()) fail_undefined(obj);
      return get_attr(*this, obj, n->name);
    }
    case NodeKind::Getitem: {
      Value obj = eval(n->a.get(), scope);
      if (n->b->kind == NodeKind::Slice) {
        const Node* sl = n->b.get();
        Value start = sl->a ? eval(sl->a.get(), scope) : Value::none();
        Value stop = sl->b ? eval(sl->b.get(), scope) : Value::none();
        Value stepv = sl->c ? eval(sl->c.get(), scope) : Value::none();
        line_ = n->line;
        if (obj.is_undefined()) fail_undefined(obj);
        return slice_value(*this, obj, start, stop, stepv);
      }
      Value key = eval(n->b.get(), scope);
      line_ = n->line;
      if (obj.is_undefined()) fail_undefined(obj);
      return get_item(*this, obj, key);
    }
    case NodeKind::Call: {
      Value fn = eval(n->a.get(), scope);
      CallArgs args;
      eval_args(n, scope, args);
      line_ = n->line;
      return call(fn, args);
    }
    case NodeKind::Filter: {
      Value subject = n->a ? eval(n->a.get(), scope) : Value::undefined();
      CallArgs args;
      eval_args(n, scope, args);
      line_ = n->line;
      if (n->flag) fail("No filter named '" + n->name + "' found.");
      return apply_filter(n->name, subject, args);
    }
    case NodeKind::Test: {
      Value subject = eval(n->a.get(), scope);
      CallArgs args;
      eval_args(n, scope, args);
      line_ = n->line;
      if (n->flag) fail("No test named '" + n->name + "' found.");
      return Value::boolean(apply_test(n->name, subject, args));
    }
    case NodeKind::Not: return Value::boolean(!truthy(eval(n->a.get(), scope)));
    case NodeKind::Neg:
    case NodeKind::Pos: {
      Value v = eval(n->a.get(), scope);
      line_ = n->line;
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number()) fail(std::string("TypeError: bad operand type for unary ") + (n->kind == NodeKind::Neg ? "-" : "+") + ": '" + v.type_name() + "'");
      if (n->kind == NodeKind::Pos) return v.is_bool() ? Value::integer(v.as_int()) : v;
      if (v.is_float()) return Value::floating(-v.as_double());
      if (v.as_int() == INT64_MIN) fail("OverflowError: integer overflow");
      return Value::integer(-v.as_int());
    }
    case NodeKind::Binary: return eval_binary(n, scope);
    case NodeKind::Concat: {
      std::string s;
      for (const auto& a : n->args) {
        Value v = eval(a.get(), scope);
        if (v.is_string()) s += v.str();
        else s += to_str(v);
        check_string(s.size());
      }
      return Value::string(std::move(s));
    }
    case NodeKind::Compare: return eval_compare(n, scope);
    case NodeKind::CondExpr: {
      if (truthy(eval(n->a.get(), scope))) return eval(n->b.get(), scope);
      if (n->c) return eval(n->c.get(), scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(n->line) +
                              " evaluated to false and no else section was defined.");
    }
    case NodeKind::ListLit:
    case NodeKind::TupleLit: {
      List items;
      items.reserve(n->args.size());
      for (const auto& a : n->args) items.push_back(eval(a.get(), scope));
      return n->kind == NodeKind::ListLit ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case NodeKind::DictLit: {
      Dict d;
      for (size_t i = 0; i + 1 < n->args.size(); i += 2) {
        Value k = eval(n->args[i].get(), scope);
        Value v = eval(n->args[i + 1].get(), scope);
        line_ = n->line;
        if (!hashable(k)) fail(std::string("TypeError: unhashable type: '") + k.type_name() + "'");
        d.set(std::move(k), std::move(v));
      }
      return Value::dict(std::move(d));
    }
    default: fail("internal error: not an expression");
  }
}

Value Interpreter::eval_binary(const Node* n, Scope* scope) {
  const std::string& op = n->name;
  if (op == "and") {
    Value a = eval(n->a.get(), scope);
    if (!truthy(a)) return a;
    return eval(n->b.get(), scope);
  }
  if (op == "or") {
    Value a = eval(n->a.get(), scope);
    if (truthy(a)) return a;
    return eval(n->b.get(), scope);
  }
  Value a = eval(n->a.get(), scope);
  Value b = eval(n->b.get(), scope);
  line_ = n->line;
  return binary_op(*this, op, a, b);
}

Value Interpreter::eval_compare(const Node* n, Scope* scope) {
  Value left = eval(n->a.get(), scope);
  for (size_t i = 0; i < n->ops.size(); ++i) {
    Value right = eval(n->args[i].get(), scope);
    line_ = n->line;
    const std::string& op = n->ops[i];
    bool r;
    if (op == "==") r = equal(left, right);
    else if (op == "!=") r = !equal(left, right);
    else if (op == "in") r = contains(*this, right, left);
    else if (op == "notin") r = !contains(*this, right, left);
    else {
      if (left.is_undefined()) fail_undefined(left);
      if (right.is_undefined()) fail_undefined(right);
      bool ok = true;
      const int c = compare(left, right, &ok);
      if (!ok)
        fail("TypeError: '" + op + "' not supported between instances of '" + left.type_name() + "' and '" +
             right.type_name() + "'");
      if (op == "<") r = c < 0;
      else if (op == "<=") r = c <= 0;
      else if (op == ">") r = c > 0;
      else r = c >= 0;
      // NaN compares false everywhere.
      if ((left.is_float() && std::isnan(left.as_double())) || (right.is_float() && std::isnan(right.as_double()))) r = false;
    }
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

// ---- Python operators --------------------------------------------------------------------------------------

std::vector<Value> iterate(Interpreter& in, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      if (v.is_unsafe_undefined()) in.fail_undefined(v);
      return {};
    case Value::Kind::List:
    case Value::Kind::Tuple:
    case Value::Kind::Generator: return v.items();
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().items.size());
      for (const auto& [k, e] : v.dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : py::decode(v.str())) {
        std::string s;
        py::append_utf8(s, c);
        chars.push_back(Value::string(std::move(s)));
      }
      return chars;
    }
    default: in.fail(std::string("TypeError: '") + v.type_name() + "' object is not iterable");
  }
}

bool contains(Interpreter& in, const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined:
      if (container.is_unsafe_undefined()) in.fail_undefined(container);
      return false;
    case Value::Kind::String:
      if (!item.is_string())
        in.fail(std::string("TypeError: 'in <string>' requires string as left operand, not ") + item.type_name());
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::List:
    case Value::Kind::Tuple:
    case Value::Kind::Generator:
      for (const Value& e : container.items())
        if (equal(e, item)) return true;
      return false;
    case Value::Kind::Dict:
      if (!hashable(item)) in.fail(std::string("TypeError: unhashable type: '") + item.type_name() + "'");
      return container.dict().find(item) != nullptr;
    default:
      in.fail(std::string("TypeError: argument of type '") + container.type_name() + "' is not iterable");
  }
}

namespace {

Value add_str(Interpreter& in, const Value& a, const Value& b) {
  in.check_string(a.str().size() + b.str().size());
  if (a.is_markup() || b.is_markup()) {
    // markupsafe.Markup.__add__/__radd__ escape the plain operand.
    std::string l = a.is_markup() ? a.str() : py::html_escape(a.str());
    std::string r = b.is_markup() ? b.str() : py::html_escape(b.str());
    return Value::string(l + r, true);
  }
  return Value::string(a.str() + b.str());
}

int64_t checked(Interpreter& in, bool overflow, int64_t v) {
  if (overflow) in.fail("OverflowError: integer overflow (gemma4's Jinja uses 64-bit integers)");
  return v;
}

double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

std::string percent_format(Interpreter& in, const std::string& fmt, const Value& args) {
  std::vector<Value> list;
  const Dict* mapping = args.is_dict() ? &args.dict() : nullptr;
  if (args.is_tuple()) list = args.items();
  else list.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) in.fail("ValueError: incomplete format");
    Value arg;
    bool have = false;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) in.fail("TypeError: format requires a mapping");
      const Value* v = mapping->find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (!v) in.fail("KeyError: " + fmt.substr(i + 1, close - i - 1));
      arg = *v;
      have = true;
      i = close + 1;
    }
    std::string spec;
    while (i < fmt.size() && std::string("-+ #0123456789.").find(fmt[i]) != std::string::npos) spec.push_back(fmt[i++]);
    if (i >= fmt.size()) in.fail("ValueError: incomplete format");
    const char conv = fmt[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!have) {
      if (mapping && list.size() == 1 && args.is_dict()) {
        arg = args;
      } else {
        if (next >= list.size()) in.fail("TypeError: not enough arguments for format string");
        arg = list[next++];
      }
    }
    char buf[512];
    const std::string f = "%" + spec;
    switch (conv) {
      case 's': {
        std::string s = to_str(arg);
        std::snprintf(buf, sizeof buf, (f + "s").c_str(), "");
        out += (spec.empty() ? s : [&] {
          std::string padded = s;
          int width = std::atoi(spec.c_str() + (spec[0] == '-' ? 1 : 0));
          const size_t len = py::length(s);
          if (static_cast<size_t>(width) > len) {
            if (spec[0] == '-') padded.append(width - len, ' ');
            else padded.insert(0, width - len, ' ');
          }
          return padded;
        }());
        break;
      }
      case 'r': out += to_repr(arg); break;
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!arg.is_number()) in.fail(std::string("TypeError: %") + conv + " format: a real number is required, not " + arg.type_name());
        const long long v = arg.is_float() ? static_cast<long long>(arg.as_double()) : static_cast<long long>(arg.as_int());
        std::snprintf(buf, sizeof buf, (f + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), v);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg.is_number()) in.fail("TypeError: must be real number, not " + std::string(arg.type_name()));
        std::snprintf(buf, sizeof buf, (f + conv).c_str(), arg.as_double());
        out += buf;
        break;
      }
      default: in.fail(std::string("ValueError: unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next < list.size()) in.fail("TypeError: not all arguments converted during string formatting");
  return out;
}

}  // namespace

Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) in.fail_undefined(a);
  if (b.is_undefined()) in.fail_undefined(b);
  const bool nums = a.is_number() && b.is_number();
  const bool floats = nums && (a.is_float() || b.is_float());
  auto type_error = [&]() {
    if (op == "+" && a.is_string())
      in.fail(std::string("TypeError: can only concatenate str (not \"") + b.type_name() + "\") to str");
    if (op == "+" && a.is_list())
      in.fail(std::string("TypeError: can only concatenate list (not \"") + b.type_name() + "\") to list");
    in.fail("TypeError: unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  };
  if (op == "+") {
    if (floats) return Value::floating(a.as_double() + b.as_double());
    if (nums) {
      int64_t r;
      bool o = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
      return Value::integer(checked(in, o, r));
    }
    if (a.is_string() && b.is_string()) return add_str(in, a, b);
    if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
      in.check_items(a.items().size() + b.items().size());
      List r = a.items();
      r.insert(r.end(), b.items().begin(), b.items().end());
      return a.is_list() ? Value::list(std::move(r)) : Value::tuple(std::move(r));
    }
    type_error();
  }
  if (op == "-") {
    if (floats) return Value::floating(a.as_double() - b.as_double());
    if (nums) {
      int64_t r;
      bool o = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
      return Value::integer(checked(in, o, r));
    }
    type_error();
  }
  if (op == "*") {
    if (floats) return Value::floating(a.as_double() * b.as_double());
    if (nums) {
      int64_t r;
      bool o = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
      return Value::integer(checked(in, o, r));
    }
    const Value* seq = nullptr;
    const Value* count = nullptr;
    if (b.is_integral() && (a.is_string() || a.is_sequence_like())) {
      seq = &a;
      count = &b;
    } else if (a.is_integral() && (b.is_string() || b.is_sequence_like())) {
      seq = &b;
      count = &a;
    }
    if (!seq) {
      if (a.is_string() || b.is_string() || a.is_sequence_like() || b.is_sequence_like()) {
        const Value& other = (a.is_string() || a.is_sequence_like()) ? b : a;
        in.fail(std::string("TypeError: can't multiply sequence by non-int of type '") + other.type_name() + "'");
      }
      type_error();
    }
    const int64_t n = std::max<int64_t>(0, count->as_int());
    if (seq->is_string()) {
      const size_t total = seq->str().size() * static_cast<size_t>(std::min<int64_t>(n, 1LL << 40));
      if (n > 0 && seq->str().size() > 0) {
        if (n > static_cast<int64_t>(in.limits().max_output_bytes)) in.check_string(in.limits().max_output_bytes + 1);
        in.check_string(total);
      }
      std::string r;
      r.reserve(seq->str().empty() ? 0 : total);
      for (int64_t i = 0; i < n && !seq->str().empty(); ++i) r += seq->str();
      return Value::string(std::move(r), seq->is_markup());
    }
    if (n > 0 && !seq->items().empty()) {
      if (n > static_cast<int64_t>(in.limits().max_items)) in.check_items(in.limits().max_items + 1);
      in.check_items(seq->items().size() * static_cast<size_t>(n));
    }
    List r;
    for (int64_t i = 0; i < n && !seq->items().empty(); ++i) r.insert(r.end(), seq->items().begin(), seq->items().end());
    return seq->is_list() ? Value::list(std::move(r)) : Value::tuple(std::move(r));
  }
  if (op == "/") {
    if (!nums) type_error();
    if (b.as_double() == 0) in.fail("ZeroDivisionError: division by zero");
    return Value::floating(a.as_double() / b.as_double());
  }
  if (op == "//") {
    if (!nums) type_error();
    if (floats) {
      if (b.as_double() == 0) in.fail("ZeroDivisionError: float floor division by zero");
      return Value::floating(std::floor(a.as_double() / b.as_double()));
    }
    if (b.as_int() == 0) in.fail("ZeroDivisionError: integer division or modulo by zero");
    const int64_t x = a.as_int(), y = b.as_int();
    if (x == INT64_MIN && y == -1) in.fail("OverflowError: integer overflow");
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
    return Value::integer(q);
  }
  if (op == "%") {
    if (a.is_string()) return Value::string(percent_format(in, a.str(), b));
    if (!nums) type_error();
    if (floats) {
      if (b.as_double() == 0) in.fail("ZeroDivisionError: float modulo");
      return Value::floating(py_fmod(a.as_double(), b.as_double()));
    }
    if (b.as_int() == 0) in.fail("ZeroDivisionError: integer division or modulo by zero");
    const int64_t x = a.as_int(), y = b.as_int();
    if (y == -1) return Value::integer(0);
    int64_t m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::integer(m);
  }
  if (op == "**") {
    if (!nums) type_error();
    if (!floats && b.as_int() >= 0) {
      int64_t r = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0; e >>= 1) {
        if (e & 1) {
          if (__builtin_mul_overflow(r, base, &r)) checked(in, true, 0);
        }
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) {
          // Overflow only matters if another bit still needs this power.
          checked(in, true, 0);
        }
      }
      return Value::integer(r);
    }
    if (a.as_double() == 0 && b.as_double() < 0) in.fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
    return Value::floating(std::pow(a.as_double(), b.as_double()));
  }
  in.fail("internal error: unknown operator " + op);
}

Value slice_value(Interpreter& in, const Value& v, const Value& start, const Value& stop, const Value& stepv) {
  auto as_index = [&](const Value& x) -> std::optional<int64_t> {
    if (x.is_none()) return std::nullopt;
    if (!x.is_integral()) in.fail("TypeError: slice indices must be integers or None");
    return x.as_int();
  };
  const std::optional<int64_t> s0 = as_index(start), s1 = as_index(stop), st = as_index(stepv);
  const int64_t step = st.value_or(1);
  if (step == 0) in.fail("ValueError: slice step cannot be zero");
  std::u32string u;
  int64_t len;
  if (v.is_string()) {
    u = py::decode(v.str());
    len = static_cast<int64_t>(u.size());
  } else if (v.is_sequence_like()) {
    len = static_cast<int64_t>(v.items().size());
  } else {
    // jinja2's getitem turns the TypeError into an undefined value.
    return Value::undefined(std::string("'") + v.type_name() + " object' has no element slice");
  }
  auto clamp = [&](std::optional<int64_t> x, int64_t dflt, bool is_stop) -> int64_t {
    (void)is_stop;
    if (!x) return dflt;
    int64_t i = *x;
    if (i < 0) {
      i += len;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
    return i;
  };
  const int64_t b = clamp(s0, step < 0 ? len - 1 : 0, false);
  const int64_t e = clamp(s1, step < 0 ? -1 : len, true);
  std::vector<int64_t> idx;
  if (step > 0)
    for (int64_t i = b; i < e; i += step) idx.push_back(i);
  else
    for (int64_t i = b; i > e; i += step) idx.push_back(i);
  if (v.is_string()) {
    std::u32string r;
    r.reserve(idx.size());
    for (int64_t i : idx) r.push_back(u[static_cast<size_t>(i)]);
    return Value::string(py::encode(r), v.is_markup());
  }
  List r;
  r.reserve(idx.size());
  for (int64_t i : idx) r.push_back(v.items()[static_cast<size_t>(i)]);
  return v.is_list() ? Value::list(std::move(r)) : Value::tuple(std::move(r));
}

}  // namespace gemma4::jinja
