// Image decoding (stb_image: PNG, JPEG, BMP, GIF, TGA, PSD, PNM) from bytes in memory, with its size limits.
#include <gemma4/error.h>
#include <gemma4/image.h>

#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  try {
    decode_image(data, size, "fuzz image");
  } catch (const Error&) {
  }
  return 0;
}
