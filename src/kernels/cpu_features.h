// What the CPU we run on can do, checked once at run time, so one binary serves every x86-64 CPU.
#pragma once

namespace gemma4::kernels {

struct CpuFeatures {
  bool avx2 = false;          // AVX2 + FMA + F16C
  bool avx512 = false;        // AVX-512 F + BW + VL (the base every fast kernel here needs)
  bool avx512_bf16 = false;   // vdpbf16ps: bf16 pairs into fp32
  bool avx512_vnni = false;   // vpdpbusd: u8 x s8 quadruples into int32
  // Use vdpbf16ps for matrix products. It rounds the activations to bf16, so the same weights would give
  // different logits as BF16 and as F32 (or from a GGUF that keeps some matrices F32); off unless
  // GEMMA4_BF16_ACTIVATIONS=1 asks for that speed over float32 activations (docs/numerics.md).
  bool bf16_activations = false;
};

// The features of this CPU, or none when GEMMA4_PORTABLE_KERNELS=1 is set (to test the portable path).
const CpuFeatures& cpu_features();

// For tests: force the portable kernels on (true) or back to what the CPU supports (false).
void force_portable_kernels(bool portable);
// For tests: turn the bf16-activation products on or off (only takes effect where the CPU has AVX-512 BF16).
void force_bf16_activations(bool enabled);

}  // namespace gemma4::kernels
