#include "kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace gemma4::kernels {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  const char* bf16 = std::getenv("GEMMA4_BF16_ACTIVATIONS");
  f.bf16_activations = f.avx512_bf16 && bf16 != nullptr && std::strcmp(bf16, "1") == 0;
  return f;
}

CpuFeatures& active() {
  static CpuFeatures features = [] {
    const char* portable = std::getenv("GEMMA4_PORTABLE_KERNELS");
    return portable && std::strcmp(portable, "1") == 0 ? CpuFeatures{} : detect();
  }();
  return features;
}

}  // namespace

const CpuFeatures& cpu_features() { return active(); }

void force_portable_kernels(bool portable) { active() = portable ? CpuFeatures{} : detect(); }

void force_bf16_activations(bool enabled) { active().bf16_activations = enabled && active().avx512_bf16; }

}  // namespace gemma4::kernels
