// Parser from tokens to the syntax tree, following jinja2's grammar and operator precedence
// (filters and `is` tests bind tighter than arithmetic; comparisons chain; `a if b else c`).
#pragma once

#include <string_view>
#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"

namespace gemma4::jinja {

// Throws gemma4::Error "jinja template ORIGIN, line N: ..." on syntax errors and on unknown filters or tests
// outside `if` bodies and conditional expressions (jinja2 raises those at compile time; inside conditionals it
// defers them until evaluated, and so do we).
Program parse(std::vector<Token> tokens, std::string_view origin);

}  // namespace gemma4::jinja
