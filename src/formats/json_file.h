// JSON files of every format reader: one parser with one error wording.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace gemma4 {

// Parses `text`; throws gemma4::Error "<where>: not valid JSON (<parser's reason, with the byte position>)".
nlohmann::json parse_json(std::string_view text, const std::string& where);

// The same keeping the order of object members (as Python dicts do; what chat templates see).
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& where);

// read_file (core/file_io.h) then parse_json, naming the file in either error.
nlohmann::json read_json_file(const std::string& path);

}  // namespace gemma4
