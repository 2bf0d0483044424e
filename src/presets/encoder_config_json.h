// Encoder sizes from a Hugging Face config.json (for parameter counts of downloaded folders).
#pragma once

#include <gemma4/preset.h>

#include <optional>
#include <string>

namespace gemma4::presets {

struct EncoderConfigs {
  std::optional<VisionEncoderConfig> vision;
  std::optional<AudioEncoderConfig> audio;
};

// Reads vision_config / audio_config of the config.json at `path` (nothing if absent or unreadable).
EncoderConfigs encoders_from_hf_config(const std::string& path, int64_t text_width);

}  // namespace gemma4::presets
