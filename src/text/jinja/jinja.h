// Jinja chat templates, rendered the way Hugging Face transformers' `apply_chat_template` renders them with
// Python's jinja2.
//
// The environment is transformers' `_compile_jinja_template`: ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True) with the loopcontrols extension (break/continue), `{% generation %}` blocks rendered
// as their body, the `tojson` override json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False), and the globals raise_exception(msg) and strftime_now(fmt). Values behave as Python
// objects (truthiness, str() of lists/dicts/None/floats, int vs float, Undefined prints "" and raises when
// used in arithmetic or attribute access, list/dict mutators are refused by the sandbox).
//
// Usage:
//   gemma4::JinjaTemplate tpl(template_text, "google/gemma-4-E2B-it chat_template.jinja");  // parse once
//   nlohmann::ordered_json ctx = {{"messages", msgs}, {"add_generation_prompt", true},
//                                 {"bos_token", "<bos>"}, {"enable_thinking", false}};
//   std::string prompt = tpl.render(ctx);  // many times
//
// The context is a JSON object whose members become template variables: transformers passes messages,
// tools (null when absent), documents, add_generation_prompt, the tokenizer's special tokens (bos_token,
// eos_token, ...) and every extra keyword argument (enable_thinking, preserve_thinking, ...). Use
// nlohmann::ordered_json so that dicts keep their insertion order, as Python dicts do (tojson, items(),
// iteration all depend on it).
//
// Errors are gemma4::Error whose message names the origin and the template line: syntax errors and unknown
// filters/tests at construction; at render time raise_exception("...") (message "raise_exception: ..."),
// undefined values used in operations, type errors, and the limits below (output size, loop steps, macro
// recursion depth) that keep hostile templates from hanging or exhausting memory.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct JinjaRenderOptions {
  size_t max_output_bytes = 32u << 20;  // rendered text and any intermediate string
  size_t max_items = 1u << 20;          // any list built while rendering
  uint64_t max_steps = 20'000'000;      // loop iterations plus macro/function calls
  int max_call_depth = 200;             // nested macro calls
  std::optional<std::time_t> now;       // the clock strftime_now reads (default: the current time)
};

class JinjaTemplate {
 public:
  // Parses the template; throws gemma4::Error "jinja template ORIGIN, line N: ..." on syntax errors.
  JinjaTemplate(std::string_view source, std::string origin);
  ~JinjaTemplate();
  JinjaTemplate(JinjaTemplate&&) noexcept;
  JinjaTemplate& operator=(JinjaTemplate&&) noexcept;

  // Thread-safe: rendering never modifies the parsed template.
  std::string render(const nlohmann::ordered_json& context, const JinjaRenderOptions& options = JinjaRenderOptions()) const;

  const std::string& origin() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot convenience: parse and render.
std::string render_jinja(std::string_view template_text, const nlohmann::ordered_json& context, std::string_view origin);

}  // namespace gemma4
