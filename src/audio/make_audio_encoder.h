// Building the audio encoder from a checkpoint's tensors (the loader's way in; the public header only
// names the encoder's weights).
#pragma once

#include <gemma4/audio.h>

#include <memory>

#include "schema/weight_source.h"

namespace gemma4 {

// The encoder over a checkpoint's "audio_tower.*" / "embed_audio.*" tensors (checked against `config`);
// `weights` must outlive it.
std::unique_ptr<AudioEncoder> make_audio_encoder(const WeightSource& weights, const AudioConfig& config);

}  // namespace gemma4
