// --tools FILE: the tool declarations offered to the model, as the chat template takes them.
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "generation_options.h"

namespace gemma4::cli {

std::vector<std::string> read_tool_list(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("--tools: cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::ordered_json list;
  try {
    list = nlohmann::ordered_json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error("--tools: '" + path + "' is not valid JSON (" + e.what() + ")");
  }
  if (list.is_object() && list.contains("tools")) list = list["tools"];
  if (!list.is_array()) throw Error("--tools: '" + path + "' must hold a list of tool declarations");
  std::vector<std::string> tools;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) throw Error("--tools: '" + path + "': tool " + std::to_string(i) + " is not an object");
    tools.push_back(list[i].dump());
  }
  return tools;
}

}  // namespace gemma4::cli
