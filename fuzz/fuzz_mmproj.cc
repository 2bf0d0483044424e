// llama.cpp's projector files (mmproj-*.gguf): the clip.* / clip.vision.* / clip.audio.* keys and the v.* / a.*
// / mm.* tensors read into the vision and audio encoders of the built-in tiny model's checkpoint.
#include <gemma4/error.h>

#include "formats/gguf_mmproj.h"
#include "fuzz_util.h"
#include "loading/builtin_model.h"
#include "schema/checkpoint.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  // The text width of the seeds' model (tests/data/kerashub_fixtures/multimodal_all): the projections' output.
  static const Gemma4Config config = [] {
    Gemma4Config c = builtin_tiny_config();
    c.hidden_dim = 16;
    return c;
  }();
  const std::string path = fuzz::write_scratch_file(data, size, ".mmproj.gguf");
  try {
    Checkpoint checkpoint;
    checkpoint.path = "fuzz";
    checkpoint.format = "gguf";
    checkpoint.config = config;
    add_mmproj_encoders(path, checkpoint);
  } catch (const Error&) {
  }
  return 0;
}
