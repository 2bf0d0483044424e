// LoRA adapter files against the built-in tiny model's shapes. The first byte picks the format:
//  - even: a PEFT folder. Bytes 1-4 (little-endian) are the length of adapter_config.json, which follows;
//    the rest is adapter_model.safetensors.
//  - odd: a KerasHub .lora.h5 file (the rest of the input).
#include <gemma4/error.h>
#include <gemma4/lora.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "fuzz_util.h"
#include "loading/builtin_model.h"

using namespace gemma4;

namespace {

void write(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) __builtin_trap();
}

}  // namespace

GEMMA4_FUZZ_TARGET {
  static const Gemma4Config config = builtin_tiny_config();
  if (size < 1) return 0;
  LoraReadOptions options;
  options.skip_encoder_targets = (data[0] & 2) != 0;
  try {
    if ((data[0] & 1) == 0) {
      if (size < 5) return 0;
      const size_t length = data[1] | (data[2] << 8) | (data[3] << 16) | (size_t{data[4]} << 24);
      const size_t config_size = std::min(length, size - 5);
      const std::filesystem::path folder = "/tmp/gemma4_fuzz_lora_" + std::to_string(::getpid());
      std::filesystem::create_directories(folder);
      write(folder / "adapter_config.json", data + 5, config_size);
      write(folder / "adapter_model.safetensors", data + 5 + config_size, size - 5 - config_size);
      read_lora_adapter(folder.string(), config, options);
    } else {
      const std::string path = fuzz::write_scratch_file(data + 1, size - 1, ".lora.h5");
      read_lora_adapter(path, config, options);
    }
  } catch (const Error&) {
  }
  return 0;
}
