// The text of one Gemma 4 tool call, "call:NAME{key:VALUE,...}" (between <|tool_call> and <tool_call|>),
// read into a function name and JSON arguments. Value syntax: include/gemma4/output_parser.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gemma4 {

struct ToolCallSyntaxResult {
  bool ok = false;
  std::string name;
  std::string arguments;  // compact JSON object text
  std::string error;      // when !ok: what is wrong
  size_t error_offset = 0;
};

// `body` is the call's text without its markers; `offset` is where it starts in the whole output (for errors).
ToolCallSyntaxResult parse_tool_call_body(std::string_view body, size_t offset);

// Whether `body` (possibly the first part of a call's text) starts like a call, "call:NAME{" (ASCII whitespace
// allowed around), and its name.
enum class CallHead { Yes, No, NotYet };
CallHead tool_call_head(std::string_view body, std::string* name);

}  // namespace gemma4
