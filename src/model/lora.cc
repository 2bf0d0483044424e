// Merging LoRA adapters into the text model's matrices at load.
#include <gemma4/error.h>
#include <gemma4/lora.h>

#include <vector>

#include "core/thread_pool.h"
#include "kernels/quantize.h"
#include "kernels/matmul.h"
#include "schema/tensor_names.h"
#include "model/lora_merge.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

// The bound view of canonical tensor `name`, or null if the model has none.
TensorView* find_view(ModelWeights& weights, const std::string& name) {
  for (const TensorSpec& spec : text_tensor_specs()) {
    if (!spec.per_layer) {
      if (spec.name == name) return weight_slot(weights, spec, 0);
      continue;
    }
    for (size_t layer = 0; layer < weights.layers.size(); ++layer) {
      if (expand_tensor_name(spec.name, static_cast<int64_t>(layer)) == name) {
        return weight_slot(weights, spec, static_cast<int64_t>(layer));
      }
    }
  }
  return nullptr;
}

bool mergeable_type(DType type) {
  return type == DType::F32 || type == DType::BF16 || type == DType::F16 || type == DType::Q8_0 || type == DType::Q4_0;
}

}  // namespace

size_t apply_lora(ModelWeights& weights, const LoraAdapter& adapter) {
  if (!weights.source) throw Error("apply_lora: the weights have no owning source to hold the merged matrices");
  size_t written = 0;
  for (const LoraTarget& target : adapter.targets) {
    TensorView* view = find_view(weights, target.tensor);
    if (view == nullptr || view->empty()) {
      throw Error(target.origin + ": the model has no tensor '" + target.tensor + "' to merge into");
    }
    if (view->shape != Shape{target.out, target.in}) {
      throw Error(target.origin + ": " + target.tensor + " is " + shape_to_string(view->shape) + " but the adapter is for [" +
                  std::to_string(target.out) + ", " + std::to_string(target.in) + "]");
    }
    if (target.groups <= 0 || target.out % target.groups != 0 ||
        target.up.size() != static_cast<size_t>(target.out * target.rank) ||
        target.down.size() != static_cast<size_t>(target.groups * target.rank * target.in)) {
      throw Error(target.origin + ": inconsistent LoRA factors for " + target.tensor);
    }
    if (!mergeable_type(view->dtype)) {
      throw Error(target.origin + ": " + target.tensor + " is stored as " + dtype_name(view->dtype) +
                  "; LoRA merging supports F32, BF16, F16, Q8_0 and Q4_0 (re-encoded row by row)");
    }
    const TensorView old = *view;
    const size_t row_bytes = old.row_bytes();
    std::vector<uint8_t>& buffer = weights.source->new_buffer(row_bytes * static_cast<size_t>(target.out));
    uint8_t* out = buffer.data();
    const int64_t rows_per_group = target.out / target.groups;
    ThreadPool::global().parallel_for(target.out, [&](int64_t begin, int64_t end) {
      std::vector<float> row(static_cast<size_t>(target.in));
      for (int64_t o = begin; o < end; ++o) {
        kernels::dequantize_row(old, o, row.data());
        const float* up = target.up.data() + o * target.rank;
        const float* down = target.down.data() + (o / rows_per_group) * target.rank * target.in;
        for (int64_t r = 0; r < target.rank; ++r) {
          const float factor = target.scale * up[r];
          const float* down_row = down + r * target.in;
          for (int64_t i = 0; i < target.in; ++i) row[i] += factor * down_row[i];
        }
        encode_row(old.dtype, row.data(), target.in, out + static_cast<size_t>(o) * row_bytes);
      }
    });
    // The tied output head shares the embedding's bytes; keep them shared if the embedding is adapted.
    const bool tied_head = weights.lm_head.data == old.data;
    view->data = out;
    view->nbytes = buffer.size();
    if (tied_head) weights.lm_head = *view;
    written += buffer.size();
  }
  return written;
}

}  // namespace gemma4
