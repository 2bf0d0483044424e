#include "core/tensor.h"

#include <gemma4/error.h>

namespace gemma4 {

std::string shape_to_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

int64_t TensorView::rows() const {
  int64_t count = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) count *= shape[i];
  return count;
}

TensorView TensorView::row_block(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows()) {
    throw Error("row block [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") is outside a tensor of shape " + shape_to_string(shape));
  }
  TensorView view;
  view.dtype = dtype;
  view.shape = {count, cols()};
  view.data = data + static_cast<size_t>(first) * row_bytes();
  view.nbytes = static_cast<size_t>(count) * row_bytes();
  return view;
}

TensorView TensorView::slice0(int64_t i) const {
  if (shape.size() < 2 || i < 0 || i >= shape[0]) {
    throw Error("index " + std::to_string(i) + " is outside the first dimension of a tensor of shape " +
                shape_to_string(shape));
  }
  TensorView view;
  view.dtype = dtype;
  view.shape.assign(shape.begin() + 1, shape.end());
  view.nbytes = nbytes / static_cast<size_t>(shape[0]);
  view.data = data + static_cast<size_t>(i) * view.nbytes;
  return view;
}

}  // namespace gemma4
