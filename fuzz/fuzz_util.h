// Shared by the fuzz targets: the entry point's signature, and a scratch file for readers that take a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

#define GEMMA4_FUZZ_TARGET extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)

namespace gemma4::fuzz {

// Writes the input to a file of this process's own (readers that memory-map a path) and returns its path.
inline std::string write_scratch_file(const uint8_t* data, size_t size, const char* suffix) {
  const std::string path = "/tmp/gemma4_fuzz_" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace gemma4::fuzz
