// Matrix-matrix products for prompts (many activation rows), register- and cache-blocked
// (matmul_gemm_int8.cc, matmul_gemm_float.cc). kernels::matmul (matmul.cc) is the one dispatch point that
// chooses them; they are declared here for it and for the tests that force each instruction set.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace gemma4::kernels::gemm {

enum class Isa { kAvx2, kAvx512 };

// Q8_0 / Q4_0 weights with int8 activations (per block of 32, one float scale each, as the
// matrix-vector kernels quantize them). Panels of 16 weight rows are repacked per call into
// row-interleaved groups of 4 bytes (one vector holds 4 columns of 16 rows), so one broadcast of 4
// activation bytes feeds 16 rows: vpdpbusd with AVX-512 VNNI (kAvx512), vpmaddubsw + vpmaddwd with AVX2.
// Needs cpu_features().avx512_vnni for kAvx512, .avx2 for kAvx2; w.cols() a multiple of 32.
bool int8_supported(DType type);
void matmul_int8(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool, Isa isa);

// BF16 / F16 / F32 weights, float32 arithmetic, AVX-512, for any number of rows: register-blocked tiles of
// 4 weight rows x 6 tokens over blocks of 32 rows (one token: 8 rows), each output summed in the same order
// whatever n is, so results do not depend on how many rows share the call. Needs cpu_features().avx512.
bool float_supported(DType type);
void matmul_float(const float* x, int64_t n, const TensorView& w, float* y, ThreadPool& pool);

}  // namespace gemma4::kernels::gemm
