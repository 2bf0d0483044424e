// Upper bounds on a model config's sizes, checked by every config reader (config.json, GGUF keys) before
// anything is sized from them: a hostile file claiming 10^12 layers or a 2^40-wide matrix gets an error
// naming the field and the limit instead of a loop or allocation of that size. The bounds are far above
// any Gemma 4 model (31B: 60 layers, hidden 5376, vocabulary 262144) and are listed in docs/reliability.md.
#pragma once

#include <gemma4/config.h>

#include <string>

namespace gemma4 {

inline constexpr int64_t kMaxConfigLayers = 1024;
inline constexpr int64_t kMaxConfigVocabulary = int64_t{1} << 24;  // 16.7M entries
inline constexpr int64_t kMaxConfigWidth = int64_t{1} << 18;       // hidden, intermediate, per-layer widths
inline constexpr int64_t kMaxConfigHeads = 1024;
inline constexpr int64_t kMaxConfigHeadDim = 8192;
inline constexpr int64_t kMaxConfigExperts = 4096;
inline constexpr int64_t kMaxConfigPositions = int64_t{1} << 24;

// Throws gemma4::Error "<where>: <field> is N, above the limit of M" for the first field over its bound
// (fields that are negative are left to Gemma4Config::validate, which says what they must be).
void check_config_limits(const Gemma4Config& config, const std::string& where);

// The same for one value read before a config exists (e.g. the layer count a layer list is built from).
void check_config_limit(int64_t value, int64_t limit, const char* field, const std::string& where);

}  // namespace gemma4
