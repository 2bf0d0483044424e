// How a checkpoint becomes a model: the options every loading entry point takes (Backbone::load,
// backbone_from_preset, CausalLM::load, the CLI's --model flags, the server). One builder applies them, in
// this order: config overrides, random weights when load_weights is false, storage dtype, LoRA merge,
// quantize-on-load, then the encoders.
#pragma once

#include <gemma4/progress.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gemma4 {

struct LoadOptions {
  // false: the checkpoint's (or preset's) architecture with seeded random weights; nothing is read but the config.
  bool load_weights = true;
  // "" (as stored / float32 compute), "float32" or "bfloat16". bfloat16: float32 matrices are converted to
  // BF16 storage (random weights are generated as BF16); norms stay float32.
  std::string dtype;
  uint64_t seed = 0;  // random weights when load_weights is false
  // Gemma4Backbone arguments in KerasHub names, each value JSON text ("8", "true", "null", "1e-5",
  // "[\"full_attention\", ...]"; a bare word is a string), applied on top of the checkpoint's config and
  // validated. Unknown keys are an error. vision_encoder=null / audio_encoder=null drop an encoder.
  std::map<std::string, std::string> overrides;
  // LoRA adapters merged into the text weights, in order: PEFT folders or KerasHub .lora.h5 files (gemma4/lora.h).
  std::vector<std::string> lora_adapters;
  // "" or "none": matrices as stored; "q8_0" / "q4_0": float matrices re-encoded to that ggml block type on
  // load (already block-quantized ones are kept), so float checkpoints run on the int8 kernels.
  std::string quantize;
  // A llama.cpp projector file (mmproj-*.gguf, projector types gemma4v / gemma4a) whose vision and audio
  // encoders are added to the model. Empty: for a GGUF model file, the one mmproj*.gguf in its folder is used
  // when there is exactly one (several are an error naming them) and the model has no encoders of its own;
  // "none": no projector file.
  std::string mmproj;
  // > 0: the process-wide compute thread count (as set_num_threads); 0 leaves it as it is.
  int threads = 0;
  // A handle (hf://, kaggle://, modelscope://) or preset name that is not in the local caches is downloaded
  // into them (gemma4/hub.h). false, or HF_HUB_OFFLINE=1: the caches only.
  bool allow_download = true;
  // Reports downloads (bytes), bfloat16 conversion and quantize-on-load (tensors) and, for CausalLM, prompts
  // longer than one prefill chunk (tokens). Empty: nothing is reported.
  ProgressCallback progress;
};

// Threads the library computes with (process-wide; default: the machine's hardware threads).
void set_num_threads(int threads);
int num_threads();

}  // namespace gemma4
