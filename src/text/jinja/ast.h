// Syntax tree of a parsed Jinja template (one node type; `kind` says which fields are used).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace gemma4::jinja {

enum class NodeKind : uint8_t {
  // expressions
  Const,      // value
  Name,       // name
  Getattr,    // a.name
  Getitem,    // a[b]
  Slice,      // a:b:c (any may be null), only as Getitem's key
  Call,       // a(args, kwargs, *c, **d)
  Filter,     // a|name(args, kwargs); a is null inside filter blocks
  Test,       // a is name(args, kwargs)
  Not,        // not a
  Neg,        // -a
  Pos,        // +a
  Binary,     // a op b, op in + - * / // % ** and or
  Concat,     // args joined with ~
  Compare,    // a (ops[i] args[i])...
  CondExpr,   // b if a else c
  ListLit,    // [args]
  TupleLit,   // (args)
  DictLit,    // {args[2i]: args[2i+1]}
  // statements
  Data,       // name holds the text
  Output,     // {{ a }}
  If,         // if a: body else: else_body
  For,        // for a in b if c: body else: else_body (flag: recursive)
  Set,        // a = b ; a is Name, TupleLit of Names, or NSRef
  SetBlock,   // a = captured body, optionally through filter chain b
  NSRef,      // name.attr as an assignment target (name, attr)
  Macro,      // name(params) body
  CallBlock,  // a is the Call; params are caller's parameters
  FilterBlock,// b is the filter chain (innermost a null)
  With,       // params are assignments; body
  Break,
  Continue,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Param {
  std::string name;
  NodePtr default_value;  // may be null
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string name;   // Name/Getattr attr/Filter/Test/Macro name, Binary op, Data text, NSRef namespace
  std::string attr;   // NSRef attribute
  Value value;        // Const
  NodePtr a, b, c, d; // operands (see NodeKind)
  std::vector<NodePtr> args;
  std::vector<std::pair<std::string, NodePtr>> kwargs;
  std::vector<std::string> ops;  // Compare operators: == != < <= > >= in notin
  std::vector<Param> params;     // Macro / CallBlock caller / With
  std::vector<NodePtr> body, else_body;
  bool flag = false;             // For: recursive; Filter/Test: name unknown (raise when evaluated)
  bool uses_caller = false;      // Macro: body references `caller` / `varargs` / `kwargs`
  bool uses_varargs = false;
  bool uses_kwargs = false;

  Node(NodeKind k, int l) : kind(k), line(l) {}
};

struct Program {
  std::vector<NodePtr> body;
};

}  // namespace gemma4::jinja
