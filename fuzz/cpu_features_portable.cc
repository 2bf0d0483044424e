// Fuzz builds only: clang 14 cannot compile src/kernels/cpu_features.cc (its __builtin_cpu_supports does not
// know "f16c"), so the sanitized library reports no optional CPU features and every kernel takes its portable
// path. The parsers under test do not depend on the kernels' instruction sets.
#include "kernels/cpu_features.h"

namespace gemma4::kernels {
namespace {

CpuFeatures& active() {
  static CpuFeatures features;
  return features;
}

}  // namespace

const CpuFeatures& cpu_features() { return active(); }

void force_portable_kernels(bool) { active() = CpuFeatures{}; }

void force_bf16_activations(bool) { active().bf16_activations = false; }

}  // namespace gemma4::kernels
