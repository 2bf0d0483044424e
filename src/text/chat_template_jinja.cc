// ChatTemplate: a model's own chat template (Jinja text) rendered by our Jinja interpreter exactly as
// transformers' apply_chat_template renders it, and Google's current Gemma 4 templates built in as fallbacks.
#include <gemma4/chat_template.h>
#include <gemma4/config.h>
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/file_io.h"
#include "formats/tokenizer_config.h"
#include "formats/json_file.h"
#include "text/jinja/jinja.h"

namespace gemma4 {

std::string_view builtin_chat_template_text(std::string_view name);  // generated from src/text/templates/

namespace {

using Json = nlohmann::ordered_json;

// Tool-call arguments as the template wants them: a mapping when the text is a JSON object (OpenAI sends
// them as a JSON string; Google's templates refuse strings), else the text itself.
Json arguments_value(const std::string& arguments) {
  if (arguments.empty()) return Json::object();
  try {
    Json parsed = Json::parse(arguments);
    if (parsed.is_object()) return parsed;
  } catch (const nlohmann::json::exception&) {
  }
  return arguments;
}

Json content_value(const ChatMessage& message) {
  if (message.parts.empty()) return message.content;
  Json parts = Json::array();
  for (const ChatContentPart& part : message.parts) {
    switch (part.kind) {
      case ChatContentPart::Kind::Text: parts.push_back({{"type", "text"}, {"text", part.text}}); break;
      case ChatContentPart::Kind::Image: parts.push_back({{"type", "image"}}); break;
      case ChatContentPart::Kind::Audio: parts.push_back({{"type", "audio"}}); break;
      case ChatContentPart::Kind::Video: parts.push_back({{"type", "video"}}); break;
    }
  }
  return parts;
}

Json message_value(const ChatMessage& message) {
  Json out = {{"role", message.role}, {"content", content_value(message)}};
  if (!message.reasoning.empty()) out["reasoning_content"] = message.reasoning;
  if (!message.tool_calls.empty()) {
    Json calls = Json::array();
    for (const ChatToolCall& call : message.tool_calls) {
      Json entry = Json::object();
      if (!call.id.empty()) entry["id"] = call.id;
      entry["type"] = "function";
      entry["function"] = {{"name", call.name}, {"arguments", arguments_value(call.arguments)}};
      calls.push_back(std::move(entry));
    }
    out["tool_calls"] = std::move(calls);
  }
  if (!message.tool_call_id.empty()) out["tool_call_id"] = message.tool_call_id;
  if (!message.name.empty()) out["name"] = message.name;
  return out;
}

// A tool declaration in the OpenAI shape {"type": "function", "function": {...}}; a bare function object
// ({"name": ..., "parameters": ...}) is wrapped.
Json tool_value(const std::string& text, size_t index) {
  const std::string what = "tool declaration #" + std::to_string(index + 1);
  Json tool = parse_ordered_json(text, what);
  if (!tool.is_object()) throw Error(what + " must be a JSON object");
  if (!tool.contains("function") && tool.contains("name")) tool = Json{{"type", "function"}, {"function", tool}};
  return tool;
}

const ChatTemplate& builtin(const char* name) {
  static const ChatTemplate e_series(builtin_chat_template_text("gemma4-e-series"),
                                     "built-in Gemma 4 E2B/E4B chat template (2026-07-09)");
  static const ChatTemplate mainline(builtin_chat_template_text("gemma4-mainline"),
                                     "built-in Gemma 4 12B/26B/31B chat template (2026-07-09)");
  return std::string_view(name) == "e-series" ? e_series : mainline;
}

}  // namespace

struct ChatTemplate::Compiled {
  std::string source;
  JinjaTemplate jinja;
  Compiled(std::string text, std::string origin) : source(std::move(text)), jinja(source, std::move(origin)) {}
};

ChatTemplate::ChatTemplate(std::string_view source, std::string origin) {
  if (source.empty()) throw Error("chat template " + origin + " is empty");
  compiled_ = std::make_shared<const Compiled>(std::string(source), std::move(origin));
}

const std::string& ChatTemplate::source() const { return compiled_->source; }
const std::string& ChatTemplate::origin() const { return compiled_->jinja.origin(); }

const ChatTemplate& ChatTemplate::gemma4_e_series() { return builtin("e-series"); }
const ChatTemplate& ChatTemplate::gemma4_mainline() { return builtin("mainline"); }

const ChatTemplate& ChatTemplate::builtin_for(const Gemma4Config& config) {
  // E2B and E4B are the models with per-layer embeddings; 12B, 26B-A4B and 31B have none.
  return config.has_ple() ? gemma4_e_series() : gemma4_mainline();
}

ChatTemplate ChatTemplate::from_file(const std::string& path) {
  const std::string text = read_file(path);
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    const std::string template_text = chat_template_from_tokenizer_config(text, path);
    if (template_text.empty()) throw Error(path + ": has no chat_template");
    return ChatTemplate(template_text, path);
  }
  return ChatTemplate(text, path);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options) const {
  Json list = Json::array();
  for (const ChatMessage& message : messages) list.push_back(message_value(message));
  Json tools = nullptr;
  if (!options.tools.empty()) {
    tools = Json::array();
    for (size_t i = 0; i < options.tools.size(); ++i) tools.push_back(tool_value(options.tools[i], i));
  }
  // The variables transformers' apply_chat_template passes: messages, tools, documents,
  // add_generation_prompt, the tokenizer's special tokens, and the extra keyword arguments.
  Json context = {{"messages", std::move(list)},
                  {"tools", std::move(tools)},
                  {"documents", nullptr},
                  {"add_generation_prompt", options.add_generation_prompt},
                  {"bos_token", options.bos_token},
                  {"eos_token", options.eos_token},
                  {"enable_thinking", options.enable_thinking}};
  if (options.preserve_thinking) context["preserve_thinking"] = true;
  return compiled_->jinja.render(context);
}

}  // namespace gemma4
