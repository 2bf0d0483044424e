// The built-in models, which need no download:
//   builtin:tiny   every text feature, random weights made in memory, a synthetic tokenizer ("--model builtin:tiny"
//                  lets every command run; tests use it);
//   builtin:small  a small Gemma 4 trained here on the King James Bible (models/small/, docs/builtin_small.md), its
//                  Hugging Face folder embedded in the library at build time and read from memory: it works from
//                  any working directory and in an installed binary, and no file is opened.
#pragma once

#include <gemma4/config.h>

#include <string>

#include "schema/checkpoint.h"

namespace gemma4 {

inline constexpr const char* kBuiltinTinyModel = "builtin:tiny";
inline constexpr const char* kBuiltinSmallModel = "builtin:small";

bool is_builtin_model(const std::string& name);
Gemma4Config builtin_tiny_config();

// The checkpoint of a built-in model (is_builtin_model(name) must hold).
Checkpoint open_builtin_model(const std::string& name);

}  // namespace gemma4
