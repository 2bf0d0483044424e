// Jinja: parse the input as a template and render it with a small fixed context (messages with tool calls,
// tools, flags), under tight render limits so that loops the template asks for end with an error.
#include <gemma4/error.h>

#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "text/jinja/jinja.h"

using namespace gemma4;

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json value = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi <b>there</b>"},
      {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get", "arguments": {"city": "Paris", "n": [1, 2.5, null, true]}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "{\"t\": 21}"}
    ],
    "tools": [{"type": "function", "function": {"name": "get", "description": "d",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true, "enable_thinking": false, "bos_token": "<bos>", "eos_token": "<eos>",
    "n": 3, "x": -1.5, "s": "abc", "none": null
  })");
  return value;
}

}  // namespace

GEMMA4_FUZZ_TARGET {
  JinjaRenderOptions options;
  options.max_output_bytes = 1 << 20;
  options.max_items = 1 << 16;
  options.max_steps = 200'000;
  options.max_call_depth = 50;
  options.now = 1700000000;
  try {
    const JinjaTemplate tmpl(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    tmpl.render(context(), options);
  } catch (const Error&) {
  }
  return 0;
}
