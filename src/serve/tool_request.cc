#include "serve/tool_request.h"

#include <set>
#include <string>

namespace gemma4::serve {
namespace {

using text::find_field;
using text::JsonFieldError;
using text::OrderedJson;
using text::string_field;
using text::wrong_type;

// What the output parser reads back after "call:" (tool_call_syntax.cc): OpenAI's [A-Za-z0-9_-] plus '.', ':',
// '/' and non-ASCII bytes. A name outside this set could be declared but never called.
bool is_callable_name(const std::string& name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ':' || c == '/' || u >= 0x80;
    if (!ok) return false;
  }
  return true;
}

// tools[index]: {"type": "function", "function": {"name", "description"?, "parameters"? (a JSON schema object),
// "strict"?}}. Returns the function name.
std::string check_tool(const OrderedJson& tool, const std::string& where) {
  if (!tool.is_object()) throw wrong_type(where, "an object", tool);
  const auto type = string_field(tool, "type", where + ".type");
  if (!type) throw JsonFieldError("'" + where + ".type' is required (\"function\")", where + ".type", "missing_field");
  if (*type != "function") {
    throw JsonFieldError("'" + where + ".type' is '" + *type + "'; this server takes function tools only",
                         where + ".type", "unsupported_value");
  }
  const OrderedJson* function = find_field(tool, "function");
  if (!function) throw JsonFieldError("'" + where + ".function' is required", where + ".function", "missing_field");
  if (!function->is_object()) throw wrong_type(where + ".function", "an object", *function);
  const std::string name_param = where + ".function.name";
  const auto name = string_field(*function, "name", name_param);
  if (!name) throw JsonFieldError("'" + name_param + "' is required", name_param, "missing_field");
  if (!is_callable_name(*name)) {
    throw JsonFieldError("'" + name_param + "' is '" + *name + "'; a function name is letters, digits and _ - . : /",
                         name_param, "invalid_value");
  }
  string_field(*function, "description", where + ".function.description");
  if (const OrderedJson* parameters = find_field(*function, "parameters"); parameters && !parameters->is_object()) {
    throw wrong_type(where + ".function.parameters", "an object (a JSON schema)", *parameters);
  }
  if (const OrderedJson* strict = find_field(*function, "strict"); strict && !strict->is_boolean()) {
    throw wrong_type(where + ".function.strict", "true or false", *strict);
  }
  return *name;
}

// "auto" and "none" are accepted; "required" and {"type": "function", "function": {"name"}} are refused (see
// gemma4/openai.h). Returns true for "none".
bool read_tool_choice(const OrderedJson& choice) {
  const char* kWhy = "this server cannot force a tool call (it has no constrained decoding); use \"auto\"";
  if (choice.is_string()) {
    const std::string value = choice.get<std::string>();
    if (value == "auto") return false;
    if (value == "none") return true;
    if (value == "required") {
      throw JsonFieldError(std::string("'tool_choice' \"required\" is not supported: ") + kWhy, "tool_choice",
                           "unsupported_value");
    }
    throw JsonFieldError("'tool_choice' must be \"auto\", \"none\", \"required\" or a named function, not \"" +
                             value + "\"", "tool_choice", "invalid_value");
  }
  if (!choice.is_object()) throw wrong_type("tool_choice", "a string or an object", choice);
  const auto type = string_field(choice, "type", "tool_choice.type");
  const OrderedJson* function = find_field(choice, "function");
  const auto name = function && function->is_object()
                        ? string_field(*function, "name", "tool_choice.function.name") : std::nullopt;
  if (type != "function" || !name) {
    throw JsonFieldError("'tool_choice' as an object must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                         "tool_choice", "invalid_value");
  }
  throw JsonFieldError("'tool_choice' naming the function \"" + *name + "\" is not supported: " + kWhy,
                       "tool_choice", "unsupported_value");
}

std::optional<bool> bool_kwarg(const OrderedJson& kwargs, const char* key) {
  const OrderedJson* value = find_field(kwargs, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw wrong_type(std::string("chat_template_kwargs.") + key, "true or false", *value);
  return value->get<bool>();
}

}  // namespace

void parse_tool_fields(const OrderedJson& j, CompletionRequest& request) {
  if (const OrderedJson* tools = find_field(j, "tools")) {
    if (!tools->is_array()) throw wrong_type("tools", "an array of tools", *tools);
    std::set<std::string> names;
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string where = "tools[" + std::to_string(i) + "]";
      const std::string name = check_tool((*tools)[i], where);
      if (!names.insert(name).second) {
        throw JsonFieldError("'" + where + ".function.name' \"" + name + "\" is declared twice", where + ".function.name",
                             "invalid_value");
      }
      request.tools.push_back((*tools)[i].dump());
    }
  }
  if (const OrderedJson* choice = find_field(j, "tool_choice"); choice && read_tool_choice(*choice)) {
    request.tools.clear();
  }
  if (const OrderedJson* parallel = find_field(j, "parallel_tool_calls")) {
    if (!parallel->is_boolean()) throw wrong_type("parallel_tool_calls", "true or false", *parallel);
    request.parallel_tool_calls = parallel->get<bool>();
  }
  if (const OrderedJson* kwargs = find_field(j, "chat_template_kwargs")) {
    if (!kwargs->is_object()) throw wrong_type("chat_template_kwargs", "an object", *kwargs);
    request.enable_thinking = bool_kwarg(*kwargs, "enable_thinking");
    request.preserve_thinking = bool_kwarg(*kwargs, "preserve_thinking");
  }
}

}  // namespace gemma4::serve
