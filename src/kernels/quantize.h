// Encoding float32 rows into storage types, bit-for-bit as ggml's reference quantizers do it
// (quantize_row_q8_0_ref / quantize_row_q4_0_ref in ggml-quants.c), so a GGUF we write matches llama.cpp's.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace gemma4 {

// Q8_0: per block of 32, d = amax / 127 (stored f16), q = round-half-away(x / d) computed as x * (1/d).
void quantize_row_q8_0(const float* x, int64_t count, uint8_t* out);
// Q4_0: per block of 32, d = v / -8 where v is the value of largest magnitude (first one on ties),
// q = min(15, trunc(x * (1/d) + 8.5)); value i and i+16 share byte i (low nibble, high nibble).
void quantize_row_q4_0(const float* x, int64_t count, uint8_t* out);

// Encodes `count` values (one row, a whole number of blocks) into `type`: F32, F16, BF16, Q8_0 or Q4_0.
void encode_row(DType type, const float* x, int64_t count, uint8_t* out);

// Encodes a [rows, cols] float32 matrix row by row; returns rows * dtype_row_bytes(type, cols) bytes.
std::vector<uint8_t> encode_matrix(DType type, const float* x, int64_t rows, int64_t cols);

}  // namespace gemma4
