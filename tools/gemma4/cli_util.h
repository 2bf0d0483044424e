// Small helpers shared by the subcommands.
#pragma once

#include <gemma4/error.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4::cli {

// "2,17,300" -> {2, 17, 300}; throws naming the bad entry.
inline std::vector<int32_t> parse_token_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (item.empty()) throw Error("empty entry in token list '" + text + "'");
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value < 0 || value > INT32_MAX) {
      throw Error("'" + item + "' in token list '" + text + "' is not a token id");
    }
    ids.push_back(static_cast<int32_t>(value));
    start = end + 1;
  }
  return ids;
}

}  // namespace gemma4::cli
