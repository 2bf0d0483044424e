// What the CPU we run on can do, checked once at run time, so one binary serves every x86-64 CPU.
#pragma once

namespace gemma4::kernels {

struct CpuFeatures {
  bool avx2 = false;          // AVX2 + FMA + F16C
  bool avx512 = false;        // AVX-512 F + BW + VL (the base every fast kernel here needs)
  bool avx512_bf16 = false;   // vdpbf16ps: bf16 pairs into fp32
  bool avx512_vnni = false;   // vpdpbusd: u8 x s8 quadruples into int32
};

// The features of this CPU, or none when GEMMA4_PORTABLE_KERNELS=1 is set (to test the portable path).
const CpuFeatures& cpu_features();

// For tests: force the portable kernels on (true) or back to what the CPU supports (false).
void force_portable_kernels(bool portable);

}  // namespace gemma4::kernels
