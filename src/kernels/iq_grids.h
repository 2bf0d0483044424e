// Codebooks of ggml's IQ* and MXFP4 block formats (generated data: src/kernels/iq_grids.cc).
#pragma once

#include <cstdint>

namespace gemma4::kernels {

// 7 stored sign bits -> 8 signs (bit 7 makes the count of minus signs even).
extern const uint8_t kIqSigns[128];
// IQ4_NL / IQ4_XS non-linear 4-bit values.
extern const int8_t kIq4nlValues[16];
// MXFP4 (e2m1) values, doubled.
extern const int8_t kMxfp4Values[16];
// 8 unsigned bytes per entry (values 8, 25, 43): IQ2_XXS, IQ2_XS, IQ2_S.
extern const uint64_t kIq2xxsGrid[256];
extern const uint64_t kIq2xsGrid[512];
extern const uint64_t kIq2sGrid[1024];
// 4 unsigned bytes per entry: IQ3_XXS, IQ3_S.
extern const uint32_t kIq3xxsGrid[256];
extern const uint32_t kIq3sGrid[512];
// 8 signed bytes per entry (-1, 0, 1): IQ1_S, IQ1_M.
extern const uint64_t kIq1sGrid[2048];

}  // namespace gemma4::kernels
