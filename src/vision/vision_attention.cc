#include "vision/vision_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"

namespace gemma4 {

void apply_vision_rope(float* q, int64_t patches, int64_t heads, int64_t head_dim, const int32_t* positions,
                       double wavelength) {
  const int64_t part = head_dim / 2;  // one half per spatial axis
  for (int64_t p = 0; p < patches; ++p) {
    const double x = positions[2 * p];
    const double y = positions[2 * p + 1];
    for (int64_t h = 0; h < heads; ++h) {
      float* head = q + (p * heads + h) * head_dim;
      kernels::rope_inplace(head, part, part / 2, x, wavelength, 1.0);
      kernels::rope_inplace(head + part, part, part / 2, y, wavelength, 1.0);
    }
  }
}

void vision_attention(const float* q, const float* k, const float* v, const uint8_t* valid,
                      const VisionAttentionShape& s, float* out, ThreadPool& pool) {
  const int64_t hd = s.head_dim;
  const int64_t q_stride = s.num_heads * hd;
  const int64_t kv_stride = s.num_key_value_heads * hd;
  const int64_t group = s.num_heads / s.num_key_value_heads;
  std::vector<int64_t> keys;  // indices of the real patches: padding keys get weight exactly 0
  for (int64_t p = 0; p < s.patches; ++p) {
    if (valid[p]) keys.push_back(p);
  }
  const int64_t n_keys = static_cast<int64_t>(keys.size());
  pool.parallel_for(s.patches, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(n_keys));
    for (int64_t query = begin; query < end; ++query) {
      float* o = out + query * q_stride;
      std::fill(o, o + q_stride, 0.0f);
      if (!valid[query] || n_keys == 0) continue;
      for (int64_t h = 0; h < s.num_heads; ++h) {
        const float* qh = q + query * q_stride + h * hd;
        const int64_t kv_head = h / group;
        for (int64_t i = 0; i < n_keys; ++i) {
          scores[i] = kernels::dot(qh, k + keys[i] * kv_stride + kv_head * hd, hd);  // scale 1.0
        }
        kernels::softmax_inplace(scores.data(), n_keys);
        float* oh = o + h * hd;
        for (int64_t i = 0; i < n_keys; ++i) {
          kernels::axpy(scores[i], v + keys[i] * kv_stride + kv_head * hd, oh, hd);
        }
      }
    }
  });
}

}  // namespace gemma4
