// gemma4.cpp's whole public API in one include. Each header below is usable on its own.
//
//   #include <gemma4/gemma4.h>
//   auto lm = gemma4::CausalLM::load("builtin:tiny", {});
//   lm->generate("Hello", gemma4::GenerationConfig{}, [](int32_t, const std::string& text) {
//     std::fputs(text.c_str(), stdout);
//     return true;
//   });
#pragma once

#include <gemma4/audio.h>           // AudioEncoder, AudioConfig
#include <gemma4/audio_features.h>  // WAV files -> log-mel frames
#include <gemma4/backbone.h>        // Backbone::load, forward over batches
#include <gemma4/causal_lm.h>       // CausalLM: KV cache, sampling, streaming generation
#include <gemma4/chat_template.h>   // Gemma 4's chat template
#include <gemma4/config.h>          // Gemma4Config: every Gemma4Backbone argument
#include <gemma4/convert.h>         // convert_model: GGUF <-> Hugging Face
#include <gemma4/error.h>           // gemma4::Error, the one exception type
#include <gemma4/image.h>           // image files -> patches
#include <gemma4/load_options.h>    // LoadOptions, set_num_threads
#include <gemma4/lora.h>            // LoRA adapters (PEFT, KerasHub .lora.h5)
#include <gemma4/npy.h>             // NumPy .npy files
#include <gemma4/openai.h>          // OpenAI chat/completions requests and replies (no HTTP)
#include <gemma4/output_parser.h>   // thinking and tool calls in what the model writes
#include <gemma4/preset.h>          // named presets, from_preset, architecture_from_preset
#include <gemma4/tokenizer.h>       // Tokenizer
#include <gemma4/vision.h>          // VisionEncoder, VisionConfig
