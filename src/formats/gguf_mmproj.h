// Gemma 4's vision and audio encoders stored as GGUF tensors, in the two layouts found in the wild:
//  - llama.cpp's projector file ("mmproj-*.gguf", general.architecture "clip", projector types "gemma4v" and
//    "gemma4a"), written by conversion/gemma.py's Gemma4VisionAudioModel and read by tools/mtmd/clip.cpp;
//  - ollama's single file (convert/convert_gemma4.go), where the same v.* / a.* / mm.* tensors sit next to the
//    text model and the settings are gemma4.vision.* / gemma4.audio.* keys.
// Both are read into VisionConfig / AudioConfig plus tensors under our canonical names ("vision_tower.*",
// "embed_vision.*", "audio_tower.*", "embed_audio.*"), undoing the converters' transforms (docs/formats.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "schema/checkpoint.h"

namespace gemma4 {

namespace gguf {
class GgufFile;
}

// Reads the llama.cpp projector file at `path` and adds its encoders (configs and tensors) to `checkpoint`,
// whose text config gives the width the projections must have. Throws gemma4::Error naming the file, the
// tensor or key, and what was expected; also when `checkpoint` already has an encoder the file holds.
void add_mmproj_encoders(const std::string& path, Checkpoint& checkpoint);

// Whether a GGUF model file carries encoder tensors itself (ollama's layout: names starting "v.", "a.", "mm.").
bool has_bundled_encoder_tensors(const gguf::GgufFile& file);

// Reads the encoders bundled in an ollama-style Gemma 4 GGUF into `checkpoint` (its text config already read)
// and marks every tensor it binds in `used` (GGUF name -> bound), so that the caller's unexpected-tensor
// check still catches the rest. Tensors ollama writes that nothing reads (v.clamp_data, whose values repeat
// the per-linear clip bounds) are marked too.
void add_bundled_encoders(const gguf::GgufFile& file, Checkpoint& checkpoint, std::map<std::string, bool>& used);

// The projector files ("mmproj*.gguf", any case of the extension) in the folder of `model_file`, sorted.
std::vector<std::string> mmproj_files_beside(const std::string& model_file);

}  // namespace gemma4
