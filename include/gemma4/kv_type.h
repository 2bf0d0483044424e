// How the KV cache stores keys and values (gemma4 generate/chat/serve/bench --kv-type). Attention reads every
// type with float32 arithmetic; docs/numerics.md bounds the difference each type makes to the logits.
#pragma once

#include <cstdint>
#include <string>

namespace gemma4 {

enum class KvType {
  kF32,   // 4 bytes per element: exact
  kBf16,  // 2 bytes: round to nearest even to 8 significant bits (relative error <= 2^-8)
  kQ8_0,  // blocks of 32 int8 with one float32 scale (max |x| / 127): 1.125 bytes, error <= block max / 254
};

// "f32", "bf16", "q8_0" (the command-line spellings); throws gemma4::Error naming the choices otherwise.
KvType parse_kv_type(const std::string& name);
const char* kv_type_name(KvType type);
// Bytes that `elements` elements of one row take (elements a multiple of 32 for q8_0).
int64_t kv_type_row_bytes(KvType type, int64_t elements);

}  // namespace gemma4
