// config.json readers: Hugging Face (gemma4 / gemma4_text, with per_layer_config and rope_parameters),
// KerasHub (Gemma4Backbone), and the vision and audio encoder sections of the same file. Every reader gets
// the same bytes; each either returns a validated config or throws gemma4::Error.
#include <gemma4/audio.h>
#include <gemma4/config.h>
#include <gemma4/error.h>
#include <gemma4/vision.h>

#include <string>

#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    config_from_hf_json(text, "config.json");
  } catch (const Error&) {
  }
  try {
    config_from_keras_json(text, "config.json");
  } catch (const Error&) {
  }
  const std::string path = fuzz::write_scratch_file(data, size, ".config.json");
  try {
    config_from_file(path);
  } catch (const Error&) {
  }
  try {
    vision_config_from_json(path);
  } catch (const Error&) {
  }
  try {
    audio_config_from_json(path);
  } catch (const Error&) {
  }
  return 0;
}
