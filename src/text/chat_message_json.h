// The one reader of OpenAI-style chat messages, shared by the chat template's JSON requests
// (parse_chat_request_json: `gemma4 tokenize --chat`) and the server's /v1/chat/completions
// (serve/openai_protocol.cc). It takes the union of the documented OpenAI chat message fields: role; content
// as a string or a list of parts (text, image_url, input_audio); name; tool_calls; tool_call_id;
// reasoning_content. Field helpers that name the offending JSON path are here too, for the server's other fields.
#pragma once

#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gemma4::text {

// Object keys keep their order (tool-call arguments are rendered in the order they were sent).
using OrderedJson = nlohmann::ordered_json;

// A field that is missing, of the wrong type or not allowed. `param` is its path in OpenAI's notation
// ("messages[0].content[1].type"), `code` OpenAI's machine-readable reason (missing_field, invalid_type,
// invalid_value, unsupported_value).
class JsonFieldError : public Error {
 public:
  JsonFieldError(const std::string& message, std::string param, std::string code)
      : Error(message), param_(std::move(param)), code_(std::move(code)) {}
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }

 private:
  std::string param_;
  std::string code_;
};

// "null", "an object", "a string", "an integer", ... for error messages.
const char* json_type_name(const OrderedJson& value);
// "'<param>' must be <expected>, not <what was found>" (code invalid_type).
JsonFieldError wrong_type(const std::string& param, const std::string& expected, const OrderedJson& found);
// The field's value, or nullptr when it is absent or null (OpenAI treats both as "not given").
const OrderedJson* find_field(const OrderedJson& object, const char* key);
// A string field; throws wrong_type naming `param` for any other type.
std::optional<std::string> string_field(const OrderedJson& object, const char* key, const std::string& param);

struct ChatMessageRules {
  // The server's rules: only OpenAI's roles (system, developer, user, assistant, tool); content required except
  // on assistant turns (which may be only tool calls); content parts are objects of type text, image_url or
  // input_audio, and media parts must carry their data (a data: URL / base64 WAV), returned in `media`.
  // Off (the chat template's requests): any role, content optional, bare strings as text parts, placeholder
  // parts without data ("image", "audio", "video", "video_url" too), no media data read.
  bool strict = false;
};

// The data of one media part as sent (base64 text, not yet decoded) and the field it came from.
struct ChatMediaData {
  ChatContentPart::Kind kind = ChatContentPart::Kind::Image;
  std::string base64;
  std::string param;
};

struct ParsedChatMessage {
  ChatMessage message;
  std::vector<ChatMediaData> media;  // strict only, in the order of the parts
};

// messages[index]; throws JsonFieldError naming the field.
ParsedChatMessage parse_chat_message(const OrderedJson& value, size_t index, const ChatMessageRules& rules);

}  // namespace gemma4::text
