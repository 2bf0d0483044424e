// NumPy .npy files (version 1.0/2.0, little-endian, C order) for test inputs and dumped outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gemma4/error.h>

namespace gemma4 {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> values;  // every supported element type, widened
};

// Reads <f4, <f8, <i4, <i8, <u1, |b1, |u1 arrays; throws naming the file on anything else.
NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace gemma4
