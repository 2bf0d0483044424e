// Chat prompts: conversations in the OpenAI shape rendered through a chat template, the way Hugging Face's
// apply_chat_template renders them with Python's jinja2. The template is the model's own (its
// chat_template.jinja, tokenizer_config.json or GGUF tokenizer.chat_template) or, when it ships none, one of
// Google's current Gemma 4 templates built into the library:
//
//   <bos><|turn>system\n{system prompt, tool declarations}<turn|>\n   (with a system prompt, tools or thinking)
//   <|turn>user\n{text}<turn|>\n
//   <|turn>model\n{answer, thinking removed}<turn|>\n
//   <|turn>model\n                                               (generation prompt; 12B/26B/31B add an empty
//                                                                 thought channel when thinking is off)
//
// Thinking on puts "<|think|>\n" at the top of the system turn. What the model writes back (its thought
// channel and tool calls) is read by gemma4/output_parser.h.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

// One piece of a message's content.
struct ChatContentPart {
  enum class Kind { Text, Image, Audio, Video };
  Kind kind = Kind::Text;
  std::string text;  // Kind::Text only
};

// A function call made by the model.
struct ChatToolCall {
  std::string id;         // optional; a "tool" message with the same tool_call_id answers it
  std::string name;       // function name
  std::string arguments;  // a JSON object ({"city": "Paris"}), rendered as key:value pairs; any other text is
                          // written as it is
};

struct ChatMessage {
  std::string role;  // "system", "developer", "user", "assistant" (written as "model"), "model", "tool"
  std::string content;                // the text (used when `parts` is empty)
  std::vector<ChatContentPart> parts;  // text / image / audio / video items, in order (replaces `content`)
  std::string reasoning;               // the model's thinking (reasoning_content); the template decides where it
                                       // shows (Google's templates: after the last user message)
  std::vector<ChatToolCall> tool_calls;
  std::string tool_call_id;  // role "tool": the call it answers
  std::string name;          // role "tool": function name, used when no call id matches
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = false;
  // Keep the reasoning of earlier tool-calling turns in the prompt (Google's templates' preserve_thinking).
  bool preserve_thinking = false;
  std::string bos_token = "<bos>";
  std::string eos_token = "<eos>";
  // Tool declarations, each a JSON object in the OpenAI shape
  // {"type": "function", "function": {"name": ..., "description": ..., "parameters": {JSON schema}}}
  // (a bare {"name": ..., ...} is accepted too).
  std::vector<std::string> tools;
};

struct Gemma4Config;

// A chat template as models ship it (Jinja text: chat_template.jinja, tokenizer_config.json's chat_template,
// GGUF's tokenizer.chat_template), rendered by gemma4's own Jinja interpreter exactly as transformers'
// apply_chat_template renders it with Python's jinja2 (its environment, its tojson, raise_exception,
// strftime_now; messages, tools, add_generation_prompt, bos/eos tokens, enable_thinking and
// preserve_thinking as variables). Copies share the compiled template; rendering is thread-safe.
class ChatTemplate {
 public:
  // Compiles `source`; `origin` names it in errors. Throws gemma4::Error on a syntax error.
  ChatTemplate(std::string_view source, std::string origin);
  // A .jinja file, or a tokenizer_config.json holding "chat_template".
  static ChatTemplate from_file(const std::string& path);

  // Google's current Gemma 4 templates (2026-07-09), built in: E2B/E4B ("E-series": nothing after
  // "<|turn>model\n" when thinking is off) and 12B/26B-A4B/31B ("mainline": an empty thought channel then).
  static const ChatTemplate& gemma4_e_series();
  static const ChatTemplate& gemma4_mainline();
  // The built-in template that fits a model that ships none: E-series for models with per-layer
  // embeddings (E2B, E4B), mainline otherwise.
  static const ChatTemplate& builtin_for(const Gemma4Config& config);

  // The prompt text. Tool-call arguments that are JSON objects are passed as mappings (Google's templates
  // refuse strings). Throws gemma4::Error for malformed tool JSON and for errors the template raises.
  std::string render(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options = {}) const;

  const std::string& source() const;
  const std::string& origin() const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

// The chat template a model (any name Backbone::load accepts) prompts with: its own, else the built-in one for
// its architecture. Reads the config and tokenizer files only, no weights.
ChatTemplate chat_template_for_model(const std::string& model);

// The prompt text for `messages` with the built-in mainline template (ChatTemplate::gemma4_mainline()).
std::string apply_chat_template(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options = {});

// A conversation as JSON, in the OpenAI chat-completions shape:
//   {"messages": [{"role": "user", "content": "Hi"} | {"role": ..., "content": [{"type": "text", "text": ...},
//     {"type": "image"}, ...]} | {"role": "assistant", "content": ..., "reasoning_content": ...,
//     "tool_calls": [{"id": ..., "function": {"name": ..., "arguments": {...} or "json text"}}]} |
//     {"role": "tool", "tool_call_id": ..., "name": ..., "content": ...}],
//    "tools": [...], "enable_thinking": false, "add_generation_prompt": true}
// A bare array of messages is accepted too. Throws gemma4::Error naming what is wrong.
struct ChatRequest {
  std::vector<ChatMessage> messages;
  ChatTemplateOptions options;
};
ChatRequest parse_chat_request_json(std::string_view json);

}  // namespace gemma4
