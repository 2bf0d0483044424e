#include "text/jinja/parser.h"

#include <gemma4/error.h>

#include <initializer_list>

#include "text/jinja/builtins.h"
#include "text/jinja/pystr.h"

namespace gemma4::jinja {

namespace {

constexpr int kMaxNesting = 200;     // bounds parser recursion on hostile input
constexpr int kMaxTreeDepth = 1000;  // bounds evaluation recursion (left-deep operator chains)

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view origin) : toks_(std::move(tokens)), origin_(origin) {}

  Program run() {
    Program p;
    p.body = subparse({});
    if (cur().type != TokenType::Eof) {
      // subparse only stops early on an end tag nobody asked for.
      fail_unknown_tag(cur().text, cur().line);
    }
    for (const auto& n : p.body) check_unknown(n.get(), false);
    return p;
  }

  // jinja2 rejects unknown filters and tests at compile time, except inside `if` statements and conditional
  // expressions ("soft" frames), where the error is raised only if the expression is evaluated. Loops,
  // macros and block bodies start a fresh, non-soft frame.
  void check_unknown(const Node* n, bool soft, int depth = 0) const {
    if (!n) return;
    if (depth > kMaxTreeDepth) fail("expression nested too deeply (more than " + std::to_string(kMaxTreeDepth) + " levels)", n->line);
    if ((n->kind == NodeKind::Filter || n->kind == NodeKind::Test) && n->flag && !soft)
      fail(std::string("No ") + (n->kind == NodeKind::Filter ? "filter" : "test") + " named '" + n->name + "'.", n->line);
    bool inner = soft;
    switch (n->kind) {
      case NodeKind::If:
      case NodeKind::CondExpr: inner = true; break;
      case NodeKind::For:
        check_unknown(n->b.get(), soft, depth + 1);
        check_unknown(n->c.get(), false, depth + 1);
        for (const auto& c : n->body) check_unknown(c.get(), false, depth + 1);
        for (const auto& c : n->else_body) check_unknown(c.get(), false, depth + 1);
        return;
      case NodeKind::Macro:
      case NodeKind::CallBlock:
      case NodeKind::FilterBlock:
      case NodeKind::SetBlock:
      case NodeKind::With: inner = false; break;
      default: break;
    }
    const bool body_soft = inner;
    const bool expr_soft = (n->kind == NodeKind::If || n->kind == NodeKind::CondExpr) ? true
                           : (n->kind == NodeKind::Macro || n->kind == NodeKind::CallBlock ||
                              n->kind == NodeKind::FilterBlock || n->kind == NodeKind::SetBlock ||
                              n->kind == NodeKind::With) ? false : soft;
    check_unknown(n->a.get(), n->kind == NodeKind::CallBlock ? soft : expr_soft, depth + 1);
    check_unknown(n->b.get(), expr_soft, depth + 1);
    check_unknown(n->c.get(), expr_soft, depth + 1);
    check_unknown(n->d.get(), expr_soft, depth + 1);
    for (const auto& c : n->args) check_unknown(c.get(), expr_soft, depth + 1);
    for (const auto& kw : n->kwargs) check_unknown(kw.second.get(), expr_soft, depth + 1);
    for (const auto& p : n->params) check_unknown(p.default_value.get(), expr_soft, depth + 1);
    for (const auto& c : n->body) check_unknown(c.get(), body_soft, depth + 1);
    for (const auto& c : n->else_body) check_unknown(c.get(), body_soft, depth + 1);
  }

 private:
  std::vector<Token> toks_;
  std::string_view origin_;
  size_t i_ = 0;
  int depth_ = 0;
  std::vector<std::string> tag_stack_;
  int macro_uses_caller_ = 0;
  int macro_uses_varargs_ = 0;
  int macro_uses_kwargs_ = 0;
  bool in_macro_ = false;

  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* pp) : p(pp) {
      if (++p->depth_ > kMaxNesting) p->fail("template nesting too deep (more than " + std::to_string(kMaxNesting) + " levels)", p->cur().line);
    }
    ~DepthGuard() { --p->depth_; }
  };

  const Token& cur() const { return toks_[i_]; }
  const Token& look() const { return toks_[i_ + 1 < toks_.size() ? i_ + 1 : i_]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }

  [[noreturn]] void fail(const std::string& what, int line) const {
    throw Error("jinja template " + std::string(origin_) + ", line " + std::to_string(line) + ": " + what);
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::Name:
      case TokenType::Operator:
      case TokenType::Integer:
      case TokenType::Float: return t.text;
      case TokenType::String: return "string " + py::repr(t.text);
      default: return token_type_name(t.type);
    }
  }

  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == TokenType::Name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(std::string("expected token '") + op + "', got '" + describe(cur()) + "'", cur().line);
    next();
  }
  const Token& expect_type(TokenType t) {
    if (cur().type != t) {
      if (cur().type == TokenType::Eof) fail(std::string("unexpected end of template, expected '") + token_type_name(t) + "'", cur().line);
      fail(std::string("expected token '") + token_type_name(t) + "', got '" + describe(cur()) + "'", cur().line);
    }
    return next();
  }
  void expect_name(const char* n) {
    if (!is_name(n)) fail(std::string("expected token '") + n + "', got '" + describe(cur()) + "'", cur().line);
    next();
  }

  [[noreturn]] void fail_unknown_tag(const std::string& name, int line) const {
    std::string msg = "Encountered unknown tag '" + name + "'.";
    if (!tag_stack_.empty()) msg += " Jinja was looking for a matching end tag for '" + tag_stack_.back() + "'.";
    fail(msg, line);
  }

  static NodePtr make(NodeKind k, int line) { return std::make_unique<Node>(k, line); }

  bool at_end_tag(std::initializer_list<const char*> ends) const {
    if (cur().type != TokenType::Name) return false;
    for (const char* e : ends)
      if (cur().text == e) return true;
    return false;
  }

  // Template data and tags until one of `ends` (current token is then that end tag's name).
  std::vector<NodePtr> subparse(std::initializer_list<const char*> ends) {
    DepthGuard g(this);
    std::vector<NodePtr> body;
    while (cur().type != TokenType::Eof) {
      const Token& t = cur();
      if (t.type == TokenType::Data) {
        auto n = make(NodeKind::Data, t.line);
        n->name = t.text;
        body.push_back(std::move(n));
        next();
      } else if (t.type == TokenType::VarBegin) {
        next();
        auto n = make(NodeKind::Output, t.line);
        n->a = parse_tuple(false, true, {}, false);
        expect_type(TokenType::VarEnd);
        body.push_back(std::move(n));
      } else if (t.type == TokenType::BlockBegin) {
        next();
        if (ends.size() && at_end_tag(ends)) return body;
        if (cur().type == TokenType::Name && !ends.size() && is_end_name(cur().text)) fail_unknown_tag(cur().text, cur().line);
        NodePtr st = parse_statement();
        if (st) body.push_back(std::move(st));
        expect_type(TokenType::BlockEnd);
      } else {
        fail("unexpected '" + describe(t) + "'", t.line);
      }
    }
    return body;
  }

  static bool is_end_name(const std::string& n) {
    return n == "endif" || n == "endfor" || n == "else" || n == "elif" || n == "endset" || n == "endmacro" ||
           n == "endcall" || n == "endfilter" || n == "endwith" || n == "endgeneration" || n == "endraw";
  }

  // Body of a block statement: expects the block end, then data/tags until `ends`.
  std::vector<NodePtr> statements(std::initializer_list<const char*> ends, bool drop_needle) {
    skip_op(":");
    expect_type(TokenType::BlockEnd);
    std::vector<NodePtr> body = subparse(ends);
    if (cur().type == TokenType::Eof) {
      std::string expected;
      for (const char* e : ends) expected += std::string(expected.empty() ? "" : " or ") + "'" + e + "'";
      fail("Unexpected end of template. Jinja was looking for the following tags: " + expected +
               ". The innermost block that needs to be closed is '" + (tag_stack_.empty() ? "" : tag_stack_.back()) + "'.",
           cur().line);
    }
    if (drop_needle) next();
    return body;
  }

  NodePtr parse_statement() {
    DepthGuard g(this);
    const Token& t = cur();
    if (t.type != TokenType::Name) fail("tag name expected", t.line);
    const std::string name = t.text;
    const int line = t.line;
    tag_stack_.push_back(name);
    struct Pop {
      std::vector<std::string>* s;
      ~Pop() { s->pop_back(); }
    } pop{&tag_stack_};
    if (name == "if") return parse_if();
    if (name == "for") return parse_for();
    if (name == "set") return parse_set();
    if (name == "macro") return parse_macro();
    if (name == "call") return parse_call_block();
    if (name == "filter") return parse_filter_block();
    if (name == "with") return parse_with();
    if (name == "print") {
      next();
      auto n = make(NodeKind::Output, line);
      n->a = parse_tuple(false, true, {}, false);
      return n;
    }
    if (name == "break" || name == "continue") {
      next();
      return make(name == "break" ? NodeKind::Break : NodeKind::Continue, line);
    }
    if (name == "generation") {
      // transformers' AssistantTracker: {% generation %}...{% endgeneration %} renders its body unchanged.
      next();
      auto n = make(NodeKind::With, line);
      n->body = statements({"endgeneration"}, true);
      return n;
    }
    if (name == "block" || name == "extends" || name == "include" || name == "import" || name == "from" ||
        name == "autoescape") {
      fail("the '" + name + "' tag is not supported in chat templates", line);
    }
    tag_stack_.pop_back();
    pop.s = &dummy_;
    dummy_.push_back("");
    fail_unknown_tag(name, line);
  }
  std::vector<std::string> dummy_;

  NodePtr parse_if() {
    const int line = next().line;
    auto root = make(NodeKind::If, line);
    Node* node = root.get();
    while (true) {
      node->a = parse_tuple(false, false, {}, false);
      node->body = statements({"elif", "else", "endif"}, false);
      const Token& t = next();
      if (t.text == "elif") {
        auto elif = make(NodeKind::If, t.line);
        Node* raw = elif.get();
        node->else_body.push_back(std::move(elif));
        node = raw;
        continue;
      }
      if (t.text == "else") node->else_body = statements({"endif"}, true);
      break;
    }
    return root;
  }

  NodePtr parse_for() {
    const int line = next().line;
    auto n = make(NodeKind::For, line);
    n->a = parse_assign_target(true, false, false, {"in"});
    expect_name("in");
    n->b = parse_tuple(false, false, {"recursive"}, false);
    if (skip_name("if")) n->c = parse_expression(true);
    n->flag = skip_name("recursive");
    n->body = statements({"endfor", "else"}, false);
    if (next().text == "else") n->else_body = statements({"endfor"}, true);
    return n;
  }

  NodePtr parse_set() {
    const int line = next().line;
    NodePtr target = parse_assign_target(true, false, true, {});
    if (skip_op("=")) {
      auto n = make(NodeKind::Set, line);
      n->a = std::move(target);
      n->b = parse_tuple(false, true, {}, false);
      return n;
    }
    auto n = make(NodeKind::SetBlock, line);
    n->a = std::move(target);
    if (is_op("|")) n->b = parse_filter(nullptr, false);
    n->body = statements({"endset"}, true);
    return n;
  }

  void parse_signature(std::vector<Param>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      const Token& t = expect_type(TokenType::Name);
      Param p;
      p.name = t.text;
      if (skip_op("=")) p.default_value = parse_expression(true);
      else if (!params.empty() && params.back().default_value)
        fail("non-default argument follows default argument", t.line);
      params.push_back(std::move(p));
    }
    expect_op(")");
  }

  NodePtr parse_macro() {
    const int line = next().line;
    auto n = make(NodeKind::Macro, line);
    n->name = expect_type(TokenType::Name).text;
    parse_signature(n->params);
    const bool saved_in = in_macro_;
    const int saved_caller = macro_uses_caller_, saved_varargs = macro_uses_varargs_, saved_kwargs = macro_uses_kwargs_;
    in_macro_ = true;
    macro_uses_caller_ = macro_uses_varargs_ = macro_uses_kwargs_ = 0;
    n->body = statements({"endmacro"}, true);
    n->uses_caller = macro_uses_caller_ > 0;
    n->uses_varargs = macro_uses_varargs_ > 0;
    n->uses_kwargs = macro_uses_kwargs_ > 0;
    in_macro_ = saved_in;
    macro_uses_caller_ = saved_caller;
    macro_uses_varargs_ = saved_varargs;
    macro_uses_kwargs_ = saved_kwargs;
    return n;
  }

  NodePtr parse_call_block() {
    const int line = next().line;
    auto n = make(NodeKind::CallBlock, line);
    if (is_op("(")) parse_signature(n->params);
    n->a = parse_expression(true);
    if (n->a->kind != NodeKind::Call) fail("expected call", line);
    n->body = statements({"endcall"}, true);
    return n;
  }

  NodePtr parse_filter_block() {
    const int line = next().line;
    auto n = make(NodeKind::FilterBlock, line);
    n->b = parse_filter(nullptr, true);
    n->body = statements({"endfilter"}, true);
    return n;
  }

  NodePtr parse_with() {
    const int line = next().line;
    auto n = make(NodeKind::With, line);
    while (cur().type != TokenType::BlockEnd) {
      if (!n->params.empty()) expect_op(",");
      NodePtr target = parse_assign_target(false, true, false, {});
      expect_op("=");
      Param p;
      p.name = target->name;
      p.default_value = parse_expression(true);
      n->params.push_back(std::move(p));
    }
    n->body = statements({"endwith"}, true);
    return n;
  }

  NodePtr parse_assign_target(bool with_tuple, bool name_only, bool with_namespace,
                              std::initializer_list<const char*> extra_end) {
    NodePtr target;
    if (with_namespace && look().type == TokenType::Operator && look().text == ".") {
      const Token& t = expect_type(TokenType::Name);
      next();  // .
      const Token& attr = expect_type(TokenType::Name);
      target = make(NodeKind::NSRef, t.line);
      target->name = t.text;
      target->attr = attr.text;
      return target;
    }
    if (name_only) {
      const Token& t = expect_type(TokenType::Name);
      target = make(NodeKind::Name, t.line);
      target->name = t.text;
    } else if (with_tuple) {
      target = parse_tuple(true, true, extra_end, false);
    } else {
      target = parse_primary();
    }
    auto assignable = [](const Node& n) {
      if (n.kind == NodeKind::Name) return n.name != "true" && n.name != "false" && n.name != "none";
      return false;
    };
    bool ok = assignable(*target);
    if (target->kind == NodeKind::TupleLit) {
      ok = true;
      for (const auto& e : target->args) ok = ok && assignable(*e);
    }
    if (!ok) fail("can't assign to '" + describe_node(*target) + "'", target->line);
    return target;
  }

  static std::string describe_node(const Node& n) {
    switch (n.kind) {
      case NodeKind::Const: return "Const";
      case NodeKind::TupleLit: return "Tuple";
      default: return "expression";
    }
  }

  bool is_tuple_end(std::initializer_list<const char*> extra) const {
    if (cur().type == TokenType::VarEnd || cur().type == TokenType::BlockEnd || is_op(")")) return true;
    return at_end_tag(extra);
  }

  NodePtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<const char*> extra,
                      bool explicit_parens) {
    const int line = cur().line;
    std::vector<NodePtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) fail("Expected an expression, got '" + describe(cur()) + "'", cur().line);
    }
    auto n = make(NodeKind::TupleLit, line);
    n->args = std::move(items);
    return n;
  }

  NodePtr parse_expression(bool with_condexpr) {
    DepthGuard g(this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  NodePtr parse_condexpr() {
    const int line = cur().line;
    NodePtr expr1 = parse_or();
    while (is_name("if")) {
      next();
      auto n = make(NodeKind::CondExpr, line);
      n->a = parse_or();
      if (skip_name("else")) n->c = parse_condexpr();
      n->b = std::move(expr1);
      expr1 = std::move(n);
    }
    return expr1;
  }

  NodePtr binary(const std::string& op, NodePtr l, NodePtr r, int line) {
    auto n = make(NodeKind::Binary, line);
    n->name = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (is_name("or")) {
      const int line = next().line;
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (is_name("and")) {
      const int line = next().line;
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  NodePtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(this);
      const int line = next().line;
      auto n = make(NodeKind::Not, line);
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }

  NodePtr parse_compare() {
    const int line = cur().line;
    NodePtr expr = parse_math1();
    NodePtr cmp;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Operator &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && look().type == TokenType::Name && look().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(NodeKind::Compare, line);
        cmp->a = std::move(expr);
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  NodePtr parse_math1() {
    NodePtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      const std::string op = t.text;
      left = binary(op, std::move(left), parse_concat(), t.line);
    }
    return left;
  }

  NodePtr parse_concat() {
    const int line = cur().line;
    NodePtr first = parse_math2();
    if (!is_op("~")) return first;
    auto n = make(NodeKind::Concat, line);
    n->args.push_back(std::move(first));
    while (skip_op("~")) n->args.push_back(parse_math2());
    return n;
  }

  NodePtr parse_math2() {
    NodePtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      const std::string op = t.text;
      left = binary(op, std::move(left), parse_pow(), t.line);
    }
    return left;
  }

  NodePtr parse_pow() {
    NodePtr left = parse_unary(true);
    while (is_op("**")) {
      const int line = next().line;
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  NodePtr parse_unary(bool with_filter) {
    DepthGuard g(this);
    NodePtr node;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      node = make(t.text == "-" ? NodeKind::Neg : NodeKind::Pos, t.line);
      node->a = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  NodePtr parse_primary() {
    DepthGuard g(this);
    const Token& t = cur();
    if (t.type == TokenType::Name) {
      next();
      auto n = make(NodeKind::Const, t.line);
      if (t.text == "true" || t.text == "True") n->value = Value::boolean(true);
      else if (t.text == "false" || t.text == "False") n->value = Value::boolean(false);
      else if (t.text == "none" || t.text == "None") n->value = Value::none();
      else {
        n->kind = NodeKind::Name;
        n->name = t.text;
        if (in_macro_) {
          if (t.text == "caller") ++macro_uses_caller_;
          if (t.text == "varargs") ++macro_uses_varargs_;
          if (t.text == "kwargs") ++macro_uses_kwargs_;
        }
      }
      return n;
    }
    if (t.type == TokenType::String) {
      auto n = make(NodeKind::Const, t.line);
      std::string s;
      while (cur().type == TokenType::String) s += next().text;
      n->value = Value::string(std::move(s));
      return n;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      next();
      auto n = make(NodeKind::Const, t.line);
      n->value = t.type == TokenType::Integer ? Value::integer(t.int_value) : Value::floating(t.float_value);
      return n;
    }
    if (is_op("(")) {
      next();
      NodePtr n = parse_tuple(false, true, {}, true);
      expect_op(")");
      return n;
    }
    if (is_op("[")) {
      next();
      auto n = make(NodeKind::ListLit, t.line);
      while (!is_op("]")) {
        if (!n->args.empty()) expect_op(",");
        if (is_op("]")) break;
        n->args.push_back(parse_expression(true));
      }
      expect_op("]");
      return n;
    }
    if (is_op("{")) {
      next();
      auto n = make(NodeKind::DictLit, t.line);
      while (!is_op("}")) {
        if (!n->args.empty()) expect_op(",");
        if (is_op("}")) break;
        n->args.push_back(parse_expression(true));
        expect_op(":");
        n->args.push_back(parse_expression(true));
      }
      expect_op("}");
      return n;
    }
    if (t.type == TokenType::Eof || t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd)
      fail("unexpected '" + describe(t) + "'", t.line);
    fail("unexpected '" + describe(t) + "'", t.line);
  }

  NodePtr parse_postfix(NodePtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else break;
    }
    return node;
  }

  NodePtr parse_filter_expr(NodePtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter(std::move(node), false);
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else break;
    }
    return node;
  }

  NodePtr parse_subscript(NodePtr node) {
    DepthGuard g(this);
    const Token& t = next();
    if (t.text == ".") {
      const Token& attr = next();
      if (attr.type == TokenType::Name) {
        auto n = make(NodeKind::Getattr, t.line);
        n->a = std::move(node);
        n->name = attr.text;
        return n;
      }
      if (attr.type != TokenType::Integer) fail("expected name or number", attr.line);
      auto n = make(NodeKind::Getitem, t.line);
      n->a = std::move(node);
      n->b = make(NodeKind::Const, attr.line);
      n->b->value = Value::integer(attr.int_value);
      return n;
    }
    std::vector<NodePtr> keys;
    while (!is_op("]")) {
      if (!keys.empty()) expect_op(",");
      keys.push_back(parse_subscribed());
    }
    expect_op("]");
    auto n = make(NodeKind::Getitem, t.line);
    n->a = std::move(node);
    if (keys.size() == 1) {
      n->b = std::move(keys[0]);
    } else {
      n->b = make(NodeKind::TupleLit, t.line);
      n->b->args = std::move(keys);
    }
    return n;
  }

  NodePtr parse_subscribed() {
    const int line = cur().line;
    NodePtr start;
    if (is_op(":")) {
      next();
    } else {
      start = parse_expression(true);
      if (!is_op(":")) return start;
      next();
    }
    auto n = make(NodeKind::Slice, line);
    n->a = std::move(start);
    if (!is_op(":") && !is_op("]") && !is_op(",")) n->b = parse_expression(true);
    if (is_op(":")) {
      next();
      if (!is_op("]") && !is_op(",")) n->c = parse_expression(true);
    }
    return n;
  }

  void parse_call_args(Node& n) {
    expect_op("(");
    bool require_comma = false;
    while (!is_op(")")) {
      if (require_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*")) {
        next();
        n.c = parse_expression(true);
      } else if (is_op("**")) {
        next();
        n.d = parse_expression(true);
      } else if (cur().type == TokenType::Name && look().type == TokenType::Operator && look().text == "=") {
        if (n.d) fail("invalid syntax for function call expression", cur().line);
        const std::string key = next().text;
        next();
        n.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (n.c || n.d || !n.kwargs.empty()) fail("invalid syntax for function call expression", cur().line);
        n.args.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_op(")");
  }

  NodePtr parse_call(NodePtr node) {
    DepthGuard g(this);
    auto n = make(NodeKind::Call, cur().line);
    n->a = std::move(node);
    parse_call_args(*n);
    return n;
  }

  NodePtr parse_filter(NodePtr node, bool start_inline) {
    while (is_op("|") || start_inline) {
      DepthGuard g(this);
      if (!start_inline) next();
      start_inline = false;
      const Token& t = expect_type(TokenType::Name);
      std::string name = t.text;
      while (is_op(".")) {
        next();
        name += "." + expect_type(TokenType::Name).text;
      }
      auto n = make(NodeKind::Filter, t.line);
      n->name = name;
      n->a = std::move(node);
      if (is_op("(")) parse_call_args(*n);
      n->flag = find_filter(name) == nullptr;
      node = std::move(n);
    }
    return node;
  }

  NodePtr parse_test(NodePtr node) {
    DepthGuard g(this);
    const Token& is_tok = next();
    const bool negated = skip_name("not");
    const Token& t = expect_type(TokenType::Name);
    std::string name = t.text;
    while (is_op(".")) {
      next();
      name += "." + expect_type(TokenType::Name).text;
    }
    auto n = make(NodeKind::Test, is_tok.line);
    n->name = name;
    n->a = std::move(node);
    if (is_op("(")) {
      parse_call_args(*n);
    } else if ((cur().type == TokenType::Name || cur().type == TokenType::String || cur().type == TokenType::Integer ||
                cur().type == TokenType::Float || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail("You cannot chain multiple tests with is", cur().line);
      NodePtr arg = parse_postfix(parse_primary());
      n->args.push_back(std::move(arg));
    }
    n->flag = find_test(name) == nullptr;
    if (negated) {
      auto nn = make(NodeKind::Not, is_tok.line);
      nn->a = std::move(n);
      return nn;
    }
    return n;
  }
};

}  // namespace

Program parse(std::vector<Token> tokens, std::string_view origin) { return Parser(std::move(tokens), origin).run(); }

}  // namespace gemma4::jinja
