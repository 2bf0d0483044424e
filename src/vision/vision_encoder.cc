// Gemma4VisionEncoder forward pass: patch embedding, encoder blocks, pooling, output projection.
#include <gemma4/error.h>
#include <gemma4/vision.h>

#include <algorithm>

#include "core/thread_pool.h"
#include "schema/weight_source.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "vision/vision_attention.h"
#include "vision/vision_pooling.h"
#include "vision/vision_weights.h"
#include "vision/make_vision_encoder.h"

namespace gemma4 {
namespace {

// y[rows, out] = clip(clip(x, input bounds) . W^T, output bounds); x is left unchanged.
void clipped_linear(const ClippedLinear& l, const float* x, int64_t rows, float* y, std::vector<float>& scratch,
                    ThreadPool* pool) {
  const int64_t in = l.weight.cols();
  const float* input = x;
  if (l.clipped) {
    scratch.assign(x, x + rows * in);
    for (float& value : scratch) value = std::clamp(value, l.input_min, l.input_max);
    input = scratch.data();
  }
  kernels::matmul(input, rows, l.weight, y, pool);
  if (l.clipped) {
    const int64_t n = rows * l.weight.rows();
    for (int64_t i = 0; i < n; ++i) y[i] = std::clamp(y[i], l.output_min, l.output_max);
  }
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

// x = 2 (pixel - 0.5) . W_in + T[0][x] + T[1][y] (the position term only for real patches).
std::vector<float> embed_patches(const VisionWeights& w, const VisionConfig& c, const float* pixels,
                                 const int32_t* positions, const uint8_t* valid, int64_t rows, ThreadPool* pool) {
  const int64_t in = w.input_proj.cols();
  const int64_t hidden = c.hidden_dim;
  std::vector<float> centred(pixels, pixels + rows * in);
  for (float& value : centred) value = 2.0f * (value - 0.5f);
  std::vector<float> x(static_cast<size_t>(rows * hidden));
  kernels::matmul(centred.data(), rows, w.input_proj, x.data(), pool);
  std::vector<float> table_row(static_cast<size_t>(hidden));
  for (int64_t r = 0; r < rows; ++r) {
    if (!valid[r]) continue;
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t pos = std::max<int32_t>(positions[2 * r + axis], 0);
      if (pos >= c.position_table_size) {
        throw Error("vision encoder: patch position " + std::to_string(pos) + " is beyond the position table (" +
                    std::to_string(c.position_table_size) + " rows)");
      }
      kernels::dequantize_row(w.position_table, axis * c.position_table_size + pos, table_row.data());
      add(x.data() + r * hidden, table_row.data(), hidden);
    }
  }
  return x;
}

// One Gemma4VisionDecoderBlock over all images (rows = images * patches), in place on x.
void run_block(const VisionBlockWeights& b, const VisionConfig& c, float* x, const int32_t* positions,
               const uint8_t* valid, int64_t images, int64_t patches, ThreadPool& pool) {
  const int64_t rows = images * patches;
  const int64_t hidden = c.hidden_dim;
  const int64_t q_width = c.num_heads * c.head_dim;
  const int64_t kv_width = c.num_key_value_heads * c.head_dim;
  const float eps = c.norm_epsilon;
  std::vector<float> scratch;
  std::vector<float> normed(static_cast<size_t>(rows * hidden));
  std::vector<float> q(static_cast<size_t>(rows * q_width)), k(static_cast<size_t>(rows * kv_width)),
      v(static_cast<size_t>(rows * kv_width)), attended(static_cast<size_t>(rows * q_width));
  std::vector<float> branch(static_cast<size_t>(rows * hidden));

  // Attention branch.
  kernels::rms_norm(x, b.input_norm.data(), rows, hidden, eps, normed.data());
  clipped_linear(b.q_proj, normed.data(), rows, q.data(), scratch, &pool);
  clipped_linear(b.k_proj, normed.data(), rows, k.data(), scratch, &pool);
  clipped_linear(b.v_proj, normed.data(), rows, v.data(), scratch, &pool);
  kernels::rms_norm(q.data(), b.q_norm.data(), rows * c.num_heads, c.head_dim, eps, q.data());
  kernels::rms_norm(k.data(), b.k_norm.data(), rows * c.num_key_value_heads, c.head_dim, eps, k.data());
  kernels::rms_norm(v.data(), nullptr, rows * c.num_key_value_heads, c.head_dim, eps, v.data());
  apply_vision_rope(q.data(), rows, c.num_heads, c.head_dim, positions, c.rope_wavelength);
  apply_vision_rope(k.data(), rows, c.num_key_value_heads, c.head_dim, positions, c.rope_wavelength);
  const VisionAttentionShape shape{patches, c.num_heads, c.num_key_value_heads, c.head_dim};
  for (int64_t image = 0; image < images; ++image) {
    const int64_t first = image * patches;
    vision_attention(q.data() + first * q_width, k.data() + first * kv_width, v.data() + first * kv_width,
                     valid + first, shape, attended.data() + first * q_width, pool);
  }
  clipped_linear(b.o_proj, attended.data(), rows, branch.data(), scratch, &pool);
  kernels::rms_norm(branch.data(), b.post_attention_norm.data(), rows, hidden, eps, branch.data());
  add(x, branch.data(), rows * hidden);

  // Gated MLP branch.
  kernels::rms_norm(x, b.pre_ffw_norm.data(), rows, hidden, eps, normed.data());
  const int64_t inter = c.intermediate_dim;
  std::vector<float> gate(static_cast<size_t>(rows * inter)), up(static_cast<size_t>(rows * inter));
  clipped_linear(b.gate_proj, normed.data(), rows, gate.data(), scratch, &pool);
  clipped_linear(b.up_proj, normed.data(), rows, up.data(), scratch, &pool);
  kernels::gelu_tanh_mul(gate.data(), up.data(), rows * inter);
  clipped_linear(b.down_proj, gate.data(), rows, branch.data(), scratch, &pool);
  kernels::rms_norm(branch.data(), b.post_ffw_norm.data(), rows, hidden, eps, branch.data());
  add(x, branch.data(), rows * hidden);

  // KerasHub wipes padding patches after every block rather than inside attention.
  for (int64_t r = 0; r < rows; ++r) {
    if (!valid[r]) std::fill(x + r * hidden, x + (r + 1) * hidden, 0.0f);
  }
}

}  // namespace

VisionEncoder::VisionEncoder(const VisionConfig& config, std::unique_ptr<VisionWeights> weights)
    : config_(config), weights_(std::move(weights)) {}

VisionEncoder::~VisionEncoder() = default;

std::unique_ptr<VisionEncoder> make_vision_encoder(const WeightSource& weights, const VisionConfig& config) {
  return std::make_unique<VisionEncoder>(config, std::make_unique<VisionWeights>(bind_vision_weights(weights, config)));
}

std::vector<float> VisionEncoder::encode(const float* pixel_values, const int32_t* position_ids, int64_t images,
                                         int64_t patches, VisionIntermediates* intermediates) const {
  const VisionConfig& c = config_;
  const int64_t area = c.pool_size * c.pool_size;
  if (images < 0 || patches <= 0 || patches % area != 0) {
    throw Error("vision encoder: " + std::to_string(patches) + " patches per image is not a positive multiple of pool_size^2 = " +
                std::to_string(area));
  }
  ThreadPool& pool = ThreadPool::global();
  const int64_t rows = images * patches;
  const int64_t hidden = c.hidden_dim;
  // A patch is real unless both coordinates are -1 (KerasHub: any(position != -1)).
  std::vector<uint8_t> valid(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) valid[r] = position_ids[2 * r] != -1 || position_ids[2 * r + 1] != -1;

  std::vector<float> x = embed_patches(*weights_, c, pixel_values, position_ids, valid.data(), rows, &pool);
  for (const VisionBlockWeights& block : weights_->blocks) {
    run_block(block, c, x.data(), position_ids, valid.data(), images, patches, pool);
  }

  const int64_t tokens = patches / area;
  std::vector<float> pooled(static_cast<size_t>(images * tokens * hidden));
  vision_average_pool(x.data(), position_ids, valid.data(), images, patches, hidden, c.pool_size, pooled.data());
  if (intermediates) {
    intermediates->patch_encoder_output = x;
    intermediates->pooled = pooled;
  }

  // Gemma4VisionOutput: optional standardize, weightless RMSNorm, projection into the text space.
  std::vector<float>& y = pooled;
  if (c.standardize) {
    for (int64_t t = 0; t < images * tokens; ++t) {
      for (int64_t d = 0; d < hidden; ++d) {
        float& value = y[t * hidden + d];
        value = (value - weights_->std_bias[d]) * weights_->std_scale[d];
      }
    }
  }
  kernels::rms_norm(y.data(), nullptr, images * tokens, hidden, c.norm_epsilon, y.data());
  std::vector<float> out(static_cast<size_t>(images * tokens * c.output_dim));
  kernels::matmul(y.data(), images * tokens, weights_->output_projection, out.data(), &pool);
  return out;
}

}  // namespace gemma4
