// Builtin filters, tests, global functions and Python methods of str/list/dict values.
#pragma once

#include <string>
#include <string_view>

#include "text/jinja/value.h"

namespace gemma4::jinja {

using FilterFn = Value (*)(Interpreter&, const Value& subject, CallArgs& args);
using TestFn = bool (*)(Interpreter&, const Value& subject, CallArgs& args);

FilterFn find_filter(std::string_view name);  // nullptr when unknown
TestFn find_test(std::string_view name);

// obj.name as jinja2's sandboxed getattr: Python attributes (methods of str/dict/list, bound to obj) first,
// then obj[name]. Unsafe methods (list.append, dict.pop ...) give an undefined that raises when used.
Value get_attr(Interpreter& in, const Value& obj, const std::string& name);
// obj[key] as jinja2's getitem: subscription first, then an attribute when key is a string.
Value get_item(Interpreter& in, const Value& obj, const Value& key);

// Globals of transformers' environment: range, dict, namespace, cycler, joiner, lipsum-free,
// raise_exception, strftime_now.
Value find_global(std::string_view name);

}  // namespace gemma4::jinja
