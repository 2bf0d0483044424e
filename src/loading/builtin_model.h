// The built-in tiny model: every text feature, random weights made in memory, a synthetic tokenizer.
// It lets a newcomer run every command with no download ("--model builtin:tiny").
#pragma once

#include <gemma4/config.h>

#include <string>

namespace gemma4 {

inline constexpr const char* kBuiltinTinyModel = "builtin:tiny";

bool is_builtin_model(const std::string& name);
Gemma4Config builtin_tiny_config();

}  // namespace gemma4
