#include "vision/vision_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "model/attention_mask.h"

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
  const MaskRule rule{/*bidirectional=*/true, /*windowed=*/false, 0};
  kernels::AttentionOptions options;
  options.head_dim = hd;
  options.scale = 1.0f;
  const auto visible = [&](int64_t key) { return valid[key] != 0; };  // padding keys get weight exactly 0
  pool.parallel_for(s.patches, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(s.patches));
    std::vector<int64_t> positions(static_cast<size_t>(s.patches));
    const kernels::AttentionScratch scratch{scores.data(), positions.data(), s.patches};
    for (int64_t query = begin; query < end; ++query) {
      float* o = out + query * q_stride;
      std::fill(o, o + q_stride, 0.0f);
      if (!query_attends(rule, valid[query] != 0)) continue;
      const KeyRange span = visible_keys(rule, query, s.patches);
      for (int64_t h = 0; h < s.num_heads; ++h) {
        const kernels::KeyValueRows kv{k + (h / group) * hd, v + (h / group) * hd, kv_stride, 0};
        kernels::attend(q + query * q_stride + h * hd, kv, span.first, span.last, visible, options, scratch, o + h * hd);
      }
    }
  });
}

}  // namespace gemma4
