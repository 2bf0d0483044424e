#include "text/chat_message_json.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace gemma4::text {
namespace {

JsonFieldError missing(const std::string& param) {
  return JsonFieldError("'" + param + "' is required", param, "missing_field");
}

// Top-level message fields also say which message, counted from 1, as a person reads the conversation.
JsonFieldError missing_in_message(size_t index, const char* key) {
  const std::string param = "messages[" + std::to_string(index) + "]." + key;
  return JsonFieldError("message #" + std::to_string(index + 1) + " has no \"" + key + "\" ('" + param +
                            "' is required)",
                        param, "missing_field");
}

// {"image_url": {"url": "data:image/png;base64,..."}} (or the url as a plain string) -> its base64 text.
ChatMediaData image_data(const OrderedJson& part, const std::string& where) {
  const OrderedJson* field = find_field(part, "image_url");
  if (!field) throw missing(where + ".image_url");
  std::string url;
  if (field->is_string()) {
    url = field->get<std::string>();
  } else if (field->is_object()) {
    const auto inner = string_field(*field, "url", where + ".image_url.url");
    if (!inner) throw missing(where + ".image_url.url");
    url = *inner;
  } else {
    throw wrong_type(where + ".image_url", "an object with a url", *field);
  }
  const size_t comma = url.find(',');
  if (url.rfind("data:", 0) != 0 || comma == std::string::npos ||
      url.substr(0, comma).find(";base64") == std::string::npos) {
    throw JsonFieldError("'" + where + ".image_url.url' must be a data URL (data:image/...;base64,...); the server "
                         "fetches nothing", where + ".image_url.url", "unsupported_value");
  }
  return {ChatContentPart::Kind::Image, url.substr(comma + 1), where + ".image_url.url"};
}

// {"input_audio": {"data": base64, "format": "wav"}} -> its base64 text.
ChatMediaData audio_data(const OrderedJson& part, const std::string& where) {
  const OrderedJson* field = find_field(part, "input_audio");
  if (!field || !field->is_object()) {
    throw JsonFieldError("'" + where + ".input_audio' must be an object with data and format", where + ".input_audio",
                         field ? "invalid_type" : "missing_field");
  }
  const auto format = string_field(*field, "format", where + ".input_audio.format");
  if (format && *format != "wav") {
    throw JsonFieldError("'" + where + ".input_audio.format' is '" + *format + "'; this server reads wav",
                         where + ".input_audio.format", "unsupported_value");
  }
  const auto data = string_field(*field, "data", where + ".input_audio.data");
  if (!data) throw missing(where + ".input_audio.data");
  return {ChatContentPart::Kind::Audio, *data, where + ".input_audio.data"};
}

void parse_parts(const OrderedJson& content, const std::string& where, const ChatMessageRules& rules,
                 ParsedChatMessage& out) {
  using Kind = ChatContentPart::Kind;
  for (size_t i = 0; i < content.size(); ++i) {
    const OrderedJson& part = content[i];
    const std::string part_where = where + ".content[" + std::to_string(i) + "]";
    if (part.is_string() && !rules.strict) {  // a bare string is a text part
      out.message.parts.push_back({Kind::Text, part.get<std::string>()});
      continue;
    }
    if (!part.is_object()) throw wrong_type(part_where, "an object", part);
    const auto type = string_field(part, "type", part_where + ".type");
    if (!type) throw missing(part_where + ".type");
    if (*type == "text") {
      const auto text = string_field(part, "text", part_where + ".text");
      if (!text && rules.strict) throw missing(part_where + ".text");
      out.message.parts.push_back({Kind::Text, text.value_or("")});
      continue;
    }
    std::optional<Kind> kind;
    if (*type == "image_url") kind = Kind::Image;
    if (*type == "input_audio") kind = Kind::Audio;
    if (!rules.strict) {
      if (*type == "image") kind = Kind::Image;
      if (*type == "audio") kind = Kind::Audio;
      if (*type == "video" || *type == "video_url") kind = Kind::Video;
    }
    if (!kind) {
      throw JsonFieldError("'" + part_where + ".type' is '" + *type + "'; accepted part types are text, image_url and "
                               "input_audio" + (rules.strict ? "" : " (and image, audio, video, video_url)"),
                           part_where + ".type", "unsupported_value");
    }
    out.message.parts.push_back({*kind, ""});
    if (rules.strict) out.media.push_back(*kind == Kind::Image ? image_data(part, part_where) : audio_data(part, part_where));
  }
}

void parse_tool_calls(const OrderedJson& calls, const std::string& where, ChatMessage& message) {
  if (!calls.is_array()) throw wrong_type(where + ".tool_calls", "an array of tool calls", calls);
  for (size_t i = 0; i < calls.size(); ++i) {
    const OrderedJson& call = calls[i];
    const std::string call_where = where + ".tool_calls[" + std::to_string(i) + "]";
    if (!call.is_object()) throw wrong_type(call_where, "an object", call);
    // {"id", "type": "function", "function": {"name", "arguments"}}; a bare {"name", "arguments"} too.
    const OrderedJson* function = find_field(call, "function");
    const std::string function_where = function ? call_where + ".function" : call_where;
    if (!function) function = &call;
    if (!function->is_object()) throw wrong_type(function_where, "an object", *function);
    ChatToolCall parsed;
    parsed.id = string_field(call, "id", call_where + ".id").value_or("");
    parsed.name = string_field(*function, "name", function_where + ".name").value_or("");
    if (const OrderedJson* arguments = find_field(*function, "arguments")) {
      parsed.arguments = arguments->is_string() ? arguments->get<std::string>() : arguments->dump();
    }
    message.tool_calls.push_back(std::move(parsed));
  }
}

}  // namespace

const char* json_type_name(const OrderedJson& value) {
  switch (value.type()) {
    case OrderedJson::value_t::null: return "null";
    case OrderedJson::value_t::object: return "an object";
    case OrderedJson::value_t::array: return "an array";
    case OrderedJson::value_t::string: return "a string";
    case OrderedJson::value_t::boolean: return "a boolean";
    case OrderedJson::value_t::number_integer:
    case OrderedJson::value_t::number_unsigned: return "an integer";
    case OrderedJson::value_t::number_float: return "a number with a fraction";
    default: return "an unsupported value";
  }
}

JsonFieldError wrong_type(const std::string& param, const std::string& expected, const OrderedJson& found) {
  return JsonFieldError("'" + param + "' must be " + expected + ", not " + json_type_name(found), param,
                        "invalid_type");
}

const OrderedJson* find_field(const OrderedJson& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> string_field(const OrderedJson& object, const char* key, const std::string& param) {
  const OrderedJson* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) throw wrong_type(param, "a string", *value);
  return value->get<std::string>();
}

ParsedChatMessage parse_chat_message(const OrderedJson& j, size_t index, const ChatMessageRules& rules) {
  const std::string where = "messages[" + std::to_string(index) + "]";
  if (!j.is_object()) throw wrong_type(where, "an object", j);
  ParsedChatMessage out;
  ChatMessage& message = out.message;
  const auto role = string_field(j, "role", where + ".role");
  if (!role || role->empty()) throw missing_in_message(index, "role");
  static constexpr std::array<std::string_view, 5> kRoles = {"system", "developer", "user", "assistant", "tool"};
  if (rules.strict && std::find(kRoles.begin(), kRoles.end(), *role) == kRoles.end()) {
    throw JsonFieldError("'" + where + ".role' must be one of system, developer, user, assistant, tool; got '" +
                             *role + "'", where + ".role", "invalid_value");
  }
  message.role = *role;
  const OrderedJson* content = find_field(j, "content");
  if (!content) {
    // An assistant turn may be only tool calls; on the server every other turn has something to say.
    if (rules.strict && message.role != "assistant") throw missing_in_message(index, "content");
  } else if (content->is_string()) {
    message.content = content->get<std::string>();
  } else if (content->is_array()) {
    parse_parts(*content, where, rules, out);
  } else {
    throw wrong_type(where + ".content", "a string or an array of content parts", *content);
  }
  message.name = string_field(j, "name", where + ".name").value_or("");
  message.tool_call_id = string_field(j, "tool_call_id", where + ".tool_call_id").value_or("");
  // As the template reads it: message.get('reasoning') or message.get('reasoning_content').
  message.reasoning = string_field(j, "reasoning", where + ".reasoning").value_or("");
  if (message.reasoning.empty()) {
    message.reasoning = string_field(j, "reasoning_content", where + ".reasoning_content").value_or("");
  }
  if (const OrderedJson* calls = find_field(j, "tool_calls")) parse_tool_calls(*calls, where, message);
  return out;
}

}  // namespace gemma4::text
