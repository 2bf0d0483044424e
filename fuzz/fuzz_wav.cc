// WAV decoding (RIFF chunks, fmt, PCM/float samples) from bytes in memory.
#include <gemma4/audio_features.h>
#include <gemma4/error.h>

#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  try {
    int64_t rate = 0;
    decode_wav(data, size, "fuzz.wav", &rate);
  } catch (const Error&) {
  }
  return 0;
}
