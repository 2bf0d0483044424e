// Progress of long operations (downloads, loading and converting tensors, quantize-on-load, long prefills),
// reported to a callback the caller passes in (LoadOptions::progress, DownloadOptions::progress). The library
// never draws anything itself; the CLI turns these reports into a one-line bar on a terminal.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace gemma4 {

struct Progress {
  // What is advancing, e.g. "download hf://google/gemma-4-E2B-it model.safetensors", "quantize q8_0", "prefill".
  std::string what;
  int64_t done = 0;
  int64_t total = -1;  // < 0: not known
  // "B" (bytes: downloads), "tensors" (loading, conversion, quantization) or "tokens" (prefill).
  std::string unit;
};

// Called on the thread doing the work, a few times a second at most and once more when a step ends
// (done == total). It must not throw.
using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace gemma4
