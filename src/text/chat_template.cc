// Gemma 4's chat template, transcribed from the Jinja source (llama.cpp's copy of Google's template,
// models/templates/google-gemma-4-31B-it.jinja) into plain C++. Every branch below names the template part it
// follows; tests/text/test_chat_template.sh renders random conversations with Python's jinja2 and this code
// and requires identical text.
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "text/chat_message_json.h"

namespace gemma4 {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kQuote = "<|\"|>";

// ---- Python/Jinja value semantics -----------------------------------------------------------------------

// Decodes one UTF-8 code point at s[i] (invalid bytes count as themselves); sets *len.
uint32_t code_point_at(std::string_view s, size_t i, size_t* len) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  if ((b >> 5) == 0x6 && cont(1)) {
    *len = 2;
    return ((b & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if ((b >> 4) == 0xE && cont(1) && cont(2)) {
    *len = 3;
    return ((b & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  if ((b >> 3) == 0x1E && cont(1) && cont(2) && cont(3)) {
    *len = 4;
    return ((b & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
  }
  *len = 1;
  return 0xFFFFFFFF;
}

// Python's str.isspace().
bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Template values are JSON values; a missing member is nullptr (Jinja: undefined, which prints as "" and is
// falsy), unlike an explicit null (Python None, which prints as "None").
using Value = const Json*;

bool truthy(Value v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  if (v->is_array() || v->is_object()) return !v->empty();
  if (v->is_number_integer()) return v->get<int64_t>() != 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>() != 0;
  if (v->is_number_float()) return v->get<double>() != 0.0;
  return false;
}

// value[key]: nullptr when `v` is not a mapping or has no such key.
Value member(Value v, const char* key) {
  if (v == nullptr || !v->is_object()) return nullptr;
  const auto it = v->find(key);
  return it == v->end() ? nullptr : &*it;
}

bool is_mapping(Value v) { return v != nullptr && v->is_object(); }

// Python's repr() of a float.
std::string python_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+02"
  const size_t e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string mantissa = sci.substr(0, e);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (const char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent >= -5 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp_buf;
  }
  return negative ? "-" + out : out;
}

// Jinja's {{ value }} for a scalar, as Python's str() prints it.
std::string python_str(const Json& v);
std::string render(Value v) { return v == nullptr ? std::string() : python_str(*v); }

std::string python_str(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "None";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) return python_float(v.get<double>());
  return v.dump();  // containers are never printed this way by the template
}

// Jinja's `| upper` (ASCII letters; what tool schemas hold).
std::string upper(Value v) {
  std::string s = render(v);
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Jinja's `| dictsort`: items sorted by key, case-insensitively, stable.
std::vector<std::pair<std::string, Value>> dictsort(Value mapping) {
  std::vector<std::pair<std::string, Value>> items;
  if (!is_mapping(mapping)) return items;
  for (auto it = mapping->begin(); it != mapping->end(); ++it) items.emplace_back(it.key(), &it.value());
  auto lower = [](std::string s) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  return items;
}

// ---- Template macros ------------------------------------------------------------------------------------

std::string quote(const std::string& s) { return std::string(kQuote) + s + std::string(kQuote); }

// macro format_argument(argument, escape_keys=True)
std::string format_argument(Value argument, bool escape_keys = true) {
  if (argument == nullptr) return "";
  if (argument->is_string()) return quote(argument->get<std::string>());
  if (argument->is_boolean()) return argument->get<bool>() ? "true" : "false";
  if (argument->is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : dictsort(argument)) {
      if (!first) out += ',';
      first = false;
      out += escape_keys ? quote(key) : key;
      out += ':' + format_argument(value, escape_keys);
    }
    return out + "}";
  }
  if (argument->is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < argument->size(); ++i) {
      if (i) out += ',';
      out += format_argument(&(*argument)[i], escape_keys);
    }
    return out + "]";
  }
  return python_str(*argument);
}

// {%- for item in items -%}<|"|>{{- item -}}<|"|>{%- if not loop.last %},{% endif -%}{%- endfor -%}
std::string quoted_list(Value items) {
  std::string out;
  if (items == nullptr || !items->is_array()) return out;  // (strings iterate by character in Jinja; unused)
  for (size_t i = 0; i < items->size(); ++i) {
    if (i) out += ',';
    out += quote(python_str((*items)[i]));
  }
  return out;
}

// macro format_parameters(properties, required)
std::string format_parameters(Value properties) {
  static const std::vector<std::string> kStandardKeys = {"description", "type", "properties", "required",
                                                         "nullable"};
  std::string out;
  bool found_first = false;
  for (const auto& [key, value] : dictsort(properties)) {
    if (std::find(kStandardKeys.begin(), kStandardKeys.end(), key) != kStandardKeys.end()) continue;
    bool add_comma = false;
    // {%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}
    auto comma = [&] {
      if (add_comma) {
        out += ',';
      } else {
        add_comma = true;
      }
    };
    if (found_first) out += ',';
    found_first = true;
    out += key + ":{";
    if (truthy(member(value, "description"))) {
      out += "description:" + quote(render(member(value, "description")));
      add_comma = true;
    }
    const std::string type = upper(member(value, "type"));
    if (type == "STRING") {
      if (truthy(member(value, "enum"))) {
        comma();
        out += "enum:" + format_argument(member(value, "enum"));
      }
    } else if (type == "ARRAY") {
      const Value items = member(value, "items");
      if (is_mapping(items) && truthy(items)) {
        comma();
        out += "items:{";
        bool items_first = false;
        for (const auto& [item_key, item_value] : dictsort(items)) {
          if (item_value == nullptr || item_value->is_null()) continue;
          if (items_first) out += ',';
          items_first = true;
          if (item_key == "properties") {
            out += "properties:{";
            if (is_mapping(item_value)) out += format_parameters(item_value);
            out += "}";
          } else if (item_key == "required") {
            out += "required:[" + quoted_list(item_value) + "]";
          } else if (item_key == "type") {
            if (item_value->is_string()) {
              const Json uppered(upper(item_value));
              out += "type:" + format_argument(&uppered);
            } else {
              Json uppered = Json::array();
              if (item_value->is_array())
                for (const auto& t : *item_value) uppered.push_back(upper(&t));
              out += "type:" + format_argument(&uppered);
            }
          } else {
            out += item_key + ":" + format_argument(item_value);
          }
        }
        out += "}";
      }
    }
    if (truthy(member(value, "nullable"))) {
      comma();
      out += "nullable:true";
    }
    if (type == "OBJECT") {
      const Value props = member(value, "properties");
      if (is_mapping(props)) {
        comma();
        out += "properties:{" + format_parameters(props) + "}";
      } else if (is_mapping(value)) {
        comma();
        out += "properties:{" + format_parameters(value) + "}";
      }
      if (truthy(member(value, "required"))) {
        comma();
        out += "required:[" + quoted_list(member(value, "required")) + "]";
      }
    }
    comma();
    out += "type:" + quote(type) + "}";
  }
  return out;
}

// macro format_function_declaration(tool_data)
std::string format_function_declaration(Value tool) {
  // The template reads tool_data['function']; a bare function object is accepted as well.
  const Value function = is_mapping(member(tool, "function")) ? member(tool, "function") : tool;
  std::string out = "declaration:" + render(member(function, "name"));
  out += "{description:" + quote(render(member(function, "description")));
  const Value params = member(function, "parameters");
  if (truthy(params)) {
    out += ",parameters:{";
    if (truthy(member(params, "properties")))
      out += "properties:{" + format_parameters(member(params, "properties")) + "},";
    if (truthy(member(params, "required"))) out += "required:[" + quoted_list(member(params, "required")) + "],";
    if (truthy(member(params, "type"))) out += "type:" + quote(upper(member(params, "type"))) + "}";
  }
  if (member(function, "response") != nullptr) {
    const Value response = member(function, "response");
    out += ",response:{";
    if (truthy(member(response, "description")))
      out += "description:" + quote(render(member(response, "description"))) + ",";
    if (upper(member(response, "type")) == "OBJECT") out += "type:" + quote(upper(member(response, "type"))) + "}";
  }
  return out + "}";
}

// macro format_tool_response_block(tool_name, response)
std::string format_tool_response_block(const std::string& tool_name, Value response) {
  std::string out = "<|tool_response>";
  if (is_mapping(response)) {
    out += "response:" + tool_name + "{";
    const auto items = dictsort(response);
    for (size_t i = 0; i < items.size(); ++i) {
      out += items[i].first + ":" + format_argument(items[i].second, false);
      if (i + 1 < items.size()) out += ',';
    }
    out += "}";
  } else {
    out += "response:" + tool_name + "{value:" + format_argument(response, false) + "}";
  }
  return out + "<tool_response|>";
}

Json parse_json(std::string_view text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("chat template: " + what + " is not valid JSON: " + e.what());
  }
}

// Arguments as the template sees them: a mapping when the text is a JSON object, else the string itself.
Json arguments_value(const std::string& arguments) {
  if (!arguments.empty()) {
    try {
      Json j = Json::parse(arguments);
      if (j.is_object()) return j;
    } catch (const nlohmann::json::exception&) {
    }
  }
  return Json(arguments);
}

std::string text_of_parts(const ChatMessage& m) {
  std::string out;
  for (const auto& part : m.parts)
    if (part.kind == ChatContentPart::Kind::Text) out += part.text;
  return out;
}

// `not message.get('content')`
bool has_content(const ChatMessage& m) { return !m.parts.empty() || !m.content.empty(); }

}  // namespace

std::string python_strip(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end) {
    size_t len;
    const uint32_t c = code_point_at(text, begin, &len);
    if (!is_python_space(c)) break;
    begin += len;
  }
  while (end > begin) {
    size_t start = end - 1;  // find the start of the last character
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    size_t len;
    const uint32_t c = code_point_at(text, start, &len);
    if (start + len != end || !is_python_space(c)) break;
    end = start;
  }
  return std::string(text.substr(begin, end - begin));
}

std::string strip_thinking(std::string_view text) {
  // {%- for part in text.split('<channel|>') -%} keep what comes before '<|channel>' in each part
  constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>";
  std::string result;
  size_t pos = 0;
  while (true) {
    const size_t close = text.find(kClose, pos);
    const std::string_view part = text.substr(pos, close == std::string_view::npos ? std::string_view::npos : close - pos);
    const size_t open = part.find(kOpen);
    result += part.substr(0, open);
    if (close == std::string_view::npos) break;
    pos = close + kClose.size();
  }
  return python_strip(result);
}

std::string apply_chat_template(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options) {
  std::string out = options.bos_token;
  std::string prev_message_type;  // ns.prev_message_type ("" = None)

  std::vector<Json> tools;
  for (size_t i = 0; i < options.tools.size(); ++i) {
    tools.push_back(parse_json(options.tools[i], "tool declaration #" + std::to_string(i + 1)));
    if (!tools.back().is_object())
      throw Error("chat template: tool declaration #" + std::to_string(i + 1) + " is not a JSON object");
  }

  // System / tool definitions block.
  size_t first = 0;  // loop_messages = messages[first:]
  const bool first_is_system =
      !messages.empty() && (messages[0].role == "system" || messages[0].role == "developer");
  if (options.enable_thinking || !tools.empty() || first_is_system) {
    out += "<|turn>system\n";
    if (options.enable_thinking) {
      out += "<|think|>\n";
      prev_message_type = "think";
    }
    if (first_is_system) {
      const ChatMessage& m = messages[0];
      // {{- messages[0]['content'] | trim -}}  (a list of parts would print as a Python list; we use its text)
      out += python_strip(m.parts.empty() ? m.content : text_of_parts(m));
      first = 1;
    }
    if (!tools.empty()) {
      for (const Json& tool : tools) out += "<|tool>" + python_strip(format_function_declaration(&tool)) + "<tool|>";
      prev_message_type = "tool";
    }
    out += "<turn|>\n";
  }

  // Pre-scan: last user message.
  long last_user = -1;
  for (size_t i = first; i < messages.size(); ++i)
    if (messages[i].role == "user") last_user = static_cast<long>(i - first);

  for (size_t idx = first; idx < messages.size(); ++idx) {
    const ChatMessage& message = messages[idx];
    const long loop_index = static_cast<long>(idx - first);
    if (message.role == "tool") continue;  // rendered by the assistant message that called the tool
    prev_message_type.clear();
    const std::string role = message.role == "assistant" ? "model" : message.role;

    // Continuation: no second "<|turn>model" right after an assistant message (tool messages in between).
    std::string prev_non_tool_role;
    for (size_t j = idx; j-- > first;) {
      if (messages[j].role != "tool") {
        prev_non_tool_role = messages[j].role;
        break;
      }
    }
    const bool continue_same_model_turn = role == "model" && prev_non_tool_role == "assistant";
    if (!continue_same_model_turn) out += "<|turn>" + role + "\n";

    if (!message.reasoning.empty() && loop_index > last_user && !message.tool_calls.empty())
      out += "<|channel>thought\n" + message.reasoning + "\n<channel|>";

    if (!message.tool_calls.empty()) {
      for (const ChatToolCall& call : message.tool_calls) {
        out += "<|tool_call>call:" + call.name + "{";
        const Json args = arguments_value(call.arguments);
        if (args.is_object()) {
          bool first_arg = true;
          for (const auto& [key, value] : dictsort(&args)) {
            if (!first_arg) out += ',';
            first_arg = false;
            out += key + ":" + format_argument(value, false);
          }
        } else {
          out += args.get<std::string>();
        }
        out += "}<tool_call|>";
      }
      prev_message_type = "tool_call";
    }

    bool tool_responses_written = false;
    if (!message.tool_calls.empty()) {
      // Forward-scan the consecutive "tool" messages that follow.
      for (size_t k = idx + 1; k < messages.size() && messages[k].role == "tool"; ++k) {
        const ChatMessage& follow = messages[k];
        std::string tool_name = follow.name.empty() ? "unknown" : follow.name;
        for (const ChatToolCall& call : message.tool_calls)
          if (call.id == follow.tool_call_id) tool_name = call.name;
        const Json body(follow.parts.empty() ? follow.content : text_of_parts(follow));
        out += format_tool_response_block(tool_name, &body);
        tool_responses_written = true;
        prev_message_type = "tool_response";
      }
    }

    if (message.parts.empty()) {
      out += role == "model" ? strip_thinking(message.content) : python_strip(message.content);
    } else {
      for (const ChatContentPart& part : message.parts) {
        switch (part.kind) {
          case ChatContentPart::Kind::Text:
            out += role == "model" ? strip_thinking(part.text) : python_strip(part.text);
            break;
          case ChatContentPart::Kind::Image:
            out += "<|image|>";
            prev_message_type = "image";
            break;
          case ChatContentPart::Kind::Audio:
            out += "<|audio|>";
            prev_message_type = "audio";
            break;
          case ChatContentPart::Kind::Video:
            out += "<|video|>";
            prev_message_type = "video";
            break;
        }
      }
    }

    if (prev_message_type == "tool_call" && !tool_responses_written) {
      out += "<|tool_response>";
    } else if (!(tool_responses_written && !has_content(message))) {
      out += "<turn|>\n";
    }
  }

  if (options.add_generation_prompt && prev_message_type != "tool_response" && prev_message_type != "tool_call") {
    out += "<|turn>model\n";
    if (!options.enable_thinking) out += "<|channel>thought\n<channel|>";
  }
  return out;
}

ChatRequest parse_chat_request_json(std::string_view json) {
  const Json j = parse_json(json, "the chat request");
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

ModelReply parse_model_reply(std::string_view generated) {
  constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>", kEndTurn = "<turn|>";
  const size_t end = generated.find(kEndTurn);
  if (end != std::string_view::npos) generated = generated.substr(0, end);
  ModelReply reply;
  std::string visible;
  size_t pos = 0;
  while (pos < generated.size()) {
    const size_t open = generated.find(kOpen, pos);
    visible += generated.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
    if (open == std::string_view::npos) break;
    size_t body = open + kOpen.size();
    const size_t close = generated.find(kClose, body);
    std::string_view thought = generated.substr(body, close == std::string_view::npos ? std::string_view::npos
                                                                                      : close - body);
    if (thought.substr(0, 7) == "thought") thought.remove_prefix(7);  // the channel's name
    if (!reply.thinking.empty()) reply.thinking += "\n";
    reply.thinking += python_strip(thought);
    if (close == std::string_view::npos) break;
    pos = close + kClose.size();
  }
  reply.content = python_strip(visible);
  return reply;
}

}  // namespace gemma4
