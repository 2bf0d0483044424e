// The KV storage types' names and sizes (gemma4/kv_type.h).
#include <gemma4/error.h>
#include <gemma4/kv_type.h>

namespace gemma4 {

KvType parse_kv_type(const std::string& name) {
  if (name == "f32") return KvType::kF32;
  if (name == "bf16") return KvType::kBf16;
  if (name == "q8_0") return KvType::kQ8_0;
  throw Error("unknown KV cache type '" + name + "' (choose f32, bf16 or q8_0)");
}

const char* kv_type_name(KvType type) {
  switch (type) {
    case KvType::kF32: return "f32";
    case KvType::kBf16: return "bf16";
    case KvType::kQ8_0: return "q8_0";
  }
  return "?";
}

int64_t kv_type_row_bytes(KvType type, int64_t elements) {
  switch (type) {
    case KvType::kF32: return 4 * elements;
    case KvType::kBf16: return 2 * elements;
    case KvType::kQ8_0:
      if (elements % 32 != 0) {
        throw Error("a q8_0 KV row needs a multiple of 32 elements, not " + std::to_string(elements));
      }
      return elements + 4 * (elements / 32);  // int8s plus one float scale per block
  }
  return 0;
}

}  // namespace gemma4
