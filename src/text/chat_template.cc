// Chat requests as JSON (what `gemma4 tokenize --chat` and `gemma4 template` read) and the default prompt
// rendering. The templates themselves are rendered by ChatTemplate (chat_template_jinja.cc).
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "formats/json_file.h"
#include "text/chat_message_json.h"

namespace gemma4 {

namespace {

using Json = nlohmann::ordered_json;

// Arguments as the template sees them: a mapping when the text is a JSON object, else the string itself.
}  // namespace

std::string apply_chat_template(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options) {
  return ChatTemplate::gemma4_mainline().render(messages, options);
}

ChatRequest parse_chat_request_json(std::string_view json) {
  const Json j = parse_ordered_json(json, "the chat request");
  ChatRequest request;
  const Json* messages = &j;
  if (j.is_object()) {
    if (!j.contains("messages")) throw Error("chat request: no \"messages\" list");
    messages = &j["messages"];
    if (const auto it = j.find("tools"); it != j.end() && !it->is_null()) {
      if (!it->is_array()) throw Error("chat request: \"tools\" must be a list");
      for (const Json& tool : *it) request.options.tools.push_back(tool.dump());
    }
    if (const auto it = j.find("enable_thinking"); it != j.end() && !it->is_null()) {
      if (!it->is_boolean()) throw Error("chat request: \"enable_thinking\" must be true or false");
      request.options.enable_thinking = it->get<bool>();
    }
    if (const auto it = j.find("preserve_thinking"); it != j.end() && !it->is_null()) {
      if (!it->is_boolean()) throw Error("chat request: \"preserve_thinking\" must be true or false");
      request.options.preserve_thinking = it->get<bool>();
    }
    if (const auto it = j.find("add_generation_prompt"); it != j.end() && !it->is_null()) {
      if (!it->is_boolean()) throw Error("chat request: \"add_generation_prompt\" must be true or false");
      request.options.add_generation_prompt = it->get<bool>();
    }
    if (const auto it = j.find("bos_token"); it != j.end() && it->is_string())
      request.options.bos_token = it->get<std::string>();
  }
  if (!messages->is_array()) throw Error("chat request: \"messages\" must be a list");
  for (size_t i = 0; i < messages->size(); ++i) {
    try {
      request.messages.push_back(text::parse_chat_message((*messages)[i], i, {}).message);
    } catch (const text::JsonFieldError& e) {
      throw Error(std::string("chat request: ") + e.what());
    }
  }
  return request;
}

}  // namespace gemma4
