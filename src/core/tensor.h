// A typed, shaped view of bytes owned elsewhere (a mapped file, a buffer held by a WeightSource).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace gemma4 {

using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);

struct TensorView {
  DType dtype = DType::F32;
  Shape shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  bool empty() const { return data == nullptr; }
  int64_t numel() const;
  // Last dimension (the contiguous one) and the product of all others.
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  int64_t rows() const;
  size_t row_bytes() const { return dtype_row_bytes(dtype, cols()); }
  // Rows [first, first + count) of the flattened [rows, cols] matrix, as a 2-D view.
  TensorView row_block(int64_t first, int64_t count) const;
  // Index `i` of the leading dimension (e.g. one expert of an [E, out, in] bank).
  TensorView slice0(int64_t i) const;
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

}  // namespace gemma4
