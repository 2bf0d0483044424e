#include "formats/tokenizer_config.h"

#include "formats/json_file.h"

#include <gemma4/error.h>

#include <nlohmann/json.hpp>

namespace gemma4 {
std::string chat_template_from_tokenizer_config(std::string_view json_text, const std::string& where) {
  const nlohmann::json config = parse_json(json_text, where);
  if (!config.is_object() || !config.contains("chat_template")) return "";
  const nlohmann::json& value = config["chat_template"];
  if (value.is_string()) return value.get<std::string>();
  // Several named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
  if (value.is_array()) {
    for (const nlohmann::json& entry : value) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string()) {
        return entry["template"].get<std::string>();
      }
    }
  }
  throw Error(where + ": chat_template is neither a string nor a list with a \"default\" template");
}

}  // namespace gemma4
