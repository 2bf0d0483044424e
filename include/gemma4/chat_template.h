// Gemma 4's chat prompt format, rendered in C++ exactly as the official Jinja chat template does it
// (Google's template for the 31B / 26B-A4B instruction-tuned models, as copied into llama.cpp as
// models/templates/google-gemma-4-31B-it.jinja; Hugging Face renders it with Python's jinja2).
//
//   <bos><|turn>system\n{system prompt}<turn|>\n        (only with a system prompt, tools, or thinking)
//   <|turn>user\n{text}<turn|>\n
//   <|turn>model\n{answer, thinking removed}<turn|>\n
//   <|turn>model\n<|channel>thought\n<channel|>          (generation prompt; the empty thought channel is
//                                                          left out when thinking is enabled)
//
// Thinking on puts "<|think|>\n" at the top of the system turn. Text is trimmed of surrounding whitespace (as
// Python's str.strip()); images, audio and video become <|image|>, <|audio|>, <|video|> placeholders.
#pragma once

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
  std::string reasoning;               // the model's thinking; rendered only on tool-calling turns after the
                                       // last user message (as the template does)
  std::vector<ChatToolCall> tool_calls;
  std::string tool_call_id;  // role "tool": the call it answers
  std::string name;          // role "tool": function name, used when no call id matches
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = false;
  std::string bos_token = "<bos>";
  // Tool declarations, each a JSON object in the OpenAI shape
  // {"type": "function", "function": {"name": ..., "description": ..., "parameters": {JSON schema}}}
  // (a bare {"name": ..., ...} is accepted too).
  std::vector<std::string> tools;
};

// The prompt text for `messages`. Throws gemma4::Error for malformed tool JSON.
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

// The template's strip_thinking: removes every "<|channel>...<channel|>" block and trims the rest.
std::string strip_thinking(std::string_view text);

// Splits generated model text (after the generation prompt, special tokens kept) into its thought channel and
// the visible answer: "<|channel>thought\n...<channel|>answer<turn|>" -> {thinking, answer}. Text after
// <turn|> is dropped; an unterminated thought channel is all thinking.
struct ModelReply {
  std::string thinking;
  std::string content;
};
ModelReply parse_model_reply(std::string_view generated);

// Python's str.strip(): removes leading and trailing Unicode whitespace.
std::string python_strip(std::string_view text);

}  // namespace gemma4
