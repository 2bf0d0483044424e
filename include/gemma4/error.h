// The one exception type of the library: every message names what is wrong and where.
#pragma once

#include <stdexcept>
#include <string>

namespace gemma4 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace gemma4
