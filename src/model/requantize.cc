#include "model/requantize.h"

#include <gemma4/error.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/quantize.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

// Asks the kernel to drop the whole pages of a view we no longer use (clean file pages are simply
// dropped; MADV_PAGEOUT never changes contents, so this is harmless on any other memory).
void release_pages(const TensorView& view) {
#ifdef MADV_PAGEOUT
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(view.data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(view.data) + view.nbytes) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
#else
  (void)view;
#endif
}

bool is_float_type(DType type) { return type == DType::F32 || type == DType::BF16 || type == DType::F16; }

TensorView requantize(const TensorView& view, DType target, WeightSource& owner) {
  const int64_t rows = view.rows();
  const int64_t cols = view.cols();
  const size_t row_bytes = dtype_row_bytes(target, cols);
  std::vector<uint8_t>& buffer = owner.new_buffer(row_bytes * static_cast<size_t>(rows));
  uint8_t* out = buffer.data();
  ThreadPool::global().parallel_for(rows, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      kernels::dequantize_row(view, r, row.data());
      encode_row(target, row.data(), cols, out + static_cast<size_t>(r) * row_bytes);
    }
  });
  TensorView result;
  result.dtype = target;
  result.shape = view.shape;
  result.data = out;
  result.nbytes = buffer.size();
  return result;
}

}  // namespace

size_t requantize_matrices(ModelWeights& weights, DType target, const ProgressCallback& progress) {
  if (target != DType::Q8_0 && target != DType::Q4_0) {
    throw Error(std::string("requantize_matrices: the target must be Q8_0 or Q4_0, not ") + dtype_name(target));
  }
  if (!weights.source) throw Error("requantize_matrices: the weights have no owning source to hold new buffers");
  size_t written = 0;
  const int64_t total = static_cast<int64_t>(weights.layers.size()) * 9 + 3;  // the matrices visited below
  int64_t visited = 0;
  const std::string what = std::string("quantize to ") + dtype_name(target);
  auto convert = [&](TensorView& view) {
    if (progress) progress(Progress{what, visited, total, "tensors"});
    ++visited;
    if (view.empty() || !is_float_type(view.dtype) || view.cols() % 32 != 0) return;
    const TensorView old = view;
    view = requantize(old, target, *weights.source);
    written += view.nbytes;
    release_pages(old);
  };
  for (LayerWeights& layer : weights.layers) {
    for (TensorView* view : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj, &layer.gate_proj,
                             &layer.up_proj, &layer.down_proj, &layer.ple_gate, &layer.ple_projection}) {
      convert(*view);
    }
  }
  convert(weights.per_layer_model_projection);
  const bool tied = weights.embed_tokens.data == weights.lm_head.data;
  convert(weights.lm_head);
  if (tied) {
    weights.embed_tokens = weights.lm_head;
  } else {
    convert(weights.embed_tokens);
  }
  if (progress) progress(Progress{what, total, total, "tensors"});
  return written;
}

}  // namespace gemma4
