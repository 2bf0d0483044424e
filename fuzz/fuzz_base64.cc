// The server's base64 decoder (data: URLs of images, input_audio clips): any text either decodes or gives
// ApiError 400; a decoded value re-encodes to itself (the embeddings encoder is its inverse).
#include <gemma4/openai.h>

#include <string>

#include "fuzz_util.h"

namespace gemma4::serve {
std::string encode_base64(std::string_view bytes);
}

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const std::string decoded = serve::decode_base64(text, "image_url.url");
    if (serve::decode_base64(serve::encode_base64(decoded), "again") != decoded) __builtin_trap();
  } catch (const serve::ApiError&) {
  }
  return 0;
}
