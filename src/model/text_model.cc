// The text decoder's forward pass. Numerics follow Hugging Face transformers' Gemma 4 (the reference
// the released weights were verified with) in float32; where KerasHub differs, docs/numerics.md says
// which one is followed.
#include "model/text_model.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/attention_mask.h"
#include "model/moe_routing.h"

namespace gemma4 {

using kernels::matmul;
using kernels::rms_norm;

TextModel::TextModel(Gemma4Config config, ModelWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  // transformers casts sqrt(hidden) to the embedding's dtype before multiplying (bf16: sqrt(1536) -> 39.25).
  embedding_scale_ = round_to_dtype(std::sqrt(static_cast<float>(config_.hidden_dim)), weights_.embed_tokens.dtype);
}

void TextModel::embed(const ChunkInput& input, float* hidden) const {
  const int64_t width = config_.hidden_dim;
  for (int64_t t = 0; t < input.length; ++t) {
    float* row = hidden + t * width;
    if (input.embedding_override_mask && input.embedding_override_mask[t]) {
      std::copy_n(input.embedding_overrides + t * width, width, row);
      continue;
    }
    const int32_t id = input.token_ids[t];
    if (id < 0 || id >= config_.vocabulary_size) {
      throw Error("token id " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is outside the vocabulary [0, " + std::to_string(config_.vocabulary_size) + ")");
    }
    kernels::dequantize_row(weights_.embed_tokens, id, row);
    for (int64_t i = 0; i < width; ++i) row[i] *= embedding_scale_;
  }
}

void TextModel::per_layer_inputs(const ChunkInput& input, const float* hidden, float* ple) const {
  const int64_t layers = config_.num_layers;
  const int64_t width = config_.hidden_size_per_layer_input;
  const int64_t row_width = layers * width;
  const int64_t rows = input.length;
  // Context part: project the scaled embeddings, scale by hidden^-1/2, RMS-normalise each layer's slice.
  matmul(hidden, rows, weights_.per_layer_model_projection, ple);
  const float projection_scale = 1.0f / std::sqrt(static_cast<float>(config_.hidden_dim));
  for (int64_t i = 0; i < rows * row_width; ++i) ple[i] *= projection_scale;
  rms_norm(ple, weights_.per_layer_projection_norm.f32(), rows * layers, width,
           static_cast<float>(config_.layer_norm_epsilon), ple);
  // Token part: this token's row of the per-layer table, scaled by sqrt(width). Multimodal placeholders
  // look up row 0 (the pad id), as the references do.
  const float token_scale = round_to_dtype(std::sqrt(static_cast<float>(width)), weights_.embed_per_layer.dtype);
  const float combine_scale = static_cast<float>(1.0 / std::sqrt(2.0));
  std::vector<float> token_row(static_cast<size_t>(row_width));
  for (int64_t t = 0; t < rows; ++t) {
    const bool placeholder = input.embedding_override_mask && input.embedding_override_mask[t];
    const int32_t id = placeholder ? 0 : input.token_ids[t];
    if (id < 0 || id >= config_.ple_vocab_size()) {
      throw Error("token id " + std::to_string(id) + " is outside the per-layer embedding table of " +
                  std::to_string(config_.ple_vocab_size()) + " rows");
    }
    kernels::dequantize_row(weights_.embed_per_layer, id, token_row.data());
    float* out = ple + t * row_width;
    for (int64_t i = 0; i < row_width; ++i) out[i] = (out[i] + token_row[i] * token_scale) * combine_scale;
  }
}

void TextModel::attention(int64_t layer, const ChunkInput& input, int64_t start, const float* normed, KvCache& cache,
                          float* out) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t rows = input.length;
  const int64_t head_dim = config_.layer_head_dim(layer);
  const int64_t q_heads = config_.num_query_heads;
  const int64_t kv_heads = config_.layer_kv_heads(layer);
  const int64_t group = q_heads / kv_heads;
  const int64_t rope_pairs = config_.rope_pairs(layer);
  const double wavelength = config_.rope_wavelength(layer);
  const double rope_scaling = config_.rope_scaling_factor(layer);
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  auto position_of = [&](int64_t t) {
    return input.position_ids ? static_cast<double>(input.position_ids[t]) : static_cast<double>(start + t);
  };

  // Queries: project, RMS-normalise each head, rotate.
  std::vector<float> q(static_cast<size_t>(rows * q_heads * head_dim));
  matmul(normed, rows, w.q_proj, q.data());
  rms_norm(q.data(), w.q_norm.f32(), rows * q_heads, head_dim, eps, q.data());
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t h = 0; h < q_heads; ++h) {
      kernels::rope_inplace(q.data() + (t * q_heads + h) * head_dim, head_dim, rope_pairs, position_of(t), wavelength,
                            rope_scaling);
    }
  }

  // Keys and values of this chunk, unless this layer reads a donor's.
  if (!config_.is_kv_shared(layer)) {
    const int64_t kv_width = kv_heads * head_dim;
    std::vector<float> k(static_cast<size_t>(rows * kv_width));
    std::vector<float> v(static_cast<size_t>(rows * kv_width));
    matmul(normed, rows, w.k_proj, k.data());
    if (w.v_proj.empty()) {
      v = k;  // K=V: values are the raw key projection (before k_norm and RoPE)
    } else {
      matmul(normed, rows, w.v_proj, v.data());
    }
    rms_norm(k.data(), w.k_norm.f32(), rows * kv_heads, head_dim, eps, k.data());
    rms_norm(v.data(), nullptr, rows * kv_heads, head_dim, eps, v.data());
    for (int64_t t = 0; t < rows; ++t) {
      for (int64_t h = 0; h < kv_heads; ++h) {
        kernels::rope_inplace(k.data() + (t * kv_heads + h) * head_dim, head_dim, rope_pairs, position_of(t),
                              wavelength, rope_scaling);
      }
      std::copy_n(k.data() + t * kv_width, kv_width, cache.key(layer, start + t));
      std::copy_n(v.data() + t * kv_width, kv_width, cache.value(layer, start + t));
    }
  }

  const int64_t donor = config_.kv_donor(layer);
  const int64_t end = start + rows;
  MaskRule rule;
  rule.bidirectional = config_.use_bidirectional_attention;
  rule.windowed = config_.is_windowed(layer);
  rule.window = config_.sliding_window_size;
  const int64_t oldest = cache.oldest_kept(donor, end);
  const bool vision_blocks =
      config_.use_vision_bidirectional_attention && input.vision_groups != nullptr && !config_.is_global(layer);
  const auto soft_cap = config_.attention_logit_soft_cap;

  std::vector<float> context(static_cast<size_t>(rows * q_heads * head_dim), 0.0f);
  ThreadPool::global().parallel_for(rows * q_heads, [&](int64_t begin, int64_t finish) {
    std::vector<float> scores;
    std::vector<int64_t> keys;
    for (int64_t task = begin; task < finish; ++task) {
      const int64_t t = task / q_heads;
      const int64_t h = task % q_heads;
      const int64_t kv_head = h / group;
      const int64_t query_index = start + t;
      float* result = context.data() + (t * q_heads + h) * head_dim;
      if (rule.bidirectional && !cache.valid(query_index)) continue;  // padded queries see nothing
      const KeyRange range = visible_keys(rule, query_index, end);
      int64_t first = std::max(range.first, oldest);
      int64_t last = range.last;
      const int32_t group = vision_blocks ? input.vision_groups[t] : 0;
      if (group != 0) {  // the whole image block is visible too
        int64_t block_first = t, block_last = t;
        while (block_first > 0 && input.vision_groups[block_first - 1] == group) --block_first;
        while (block_last + 1 < rows && input.vision_groups[block_last + 1] == group) ++block_last;
        first = std::max(std::min(first, start + block_first), oldest);
        last = std::max(last, start + block_last);
      }
      const float* query = q.data() + (t * q_heads + h) * head_dim;
      scores.clear();
      keys.clear();
      for (int64_t j = first; j <= last; ++j) {
        if (!cache.valid(j)) continue;
        if (group != 0 && (j < range.first || j > range.last) &&
            (j < start || input.vision_groups[j - start] != group)) {
          continue;  // outside both the causal window and the image block
        }
        // Attention scale is 1.0: the q/k norms take the place of 1/sqrt(head_dim).
        float score = kernels::dot(query, cache.key(donor, j) + kv_head * head_dim, head_dim);
        if (soft_cap) score = static_cast<float>(*soft_cap * std::tanh(score / *soft_cap));
        scores.push_back(score);
        keys.push_back(j);
      }
      if (scores.empty()) continue;  // a fully masked row gives zeros, as in KerasHub
      kernels::softmax_inplace(scores.data(), static_cast<int64_t>(scores.size()));
      for (size_t s = 0; s < keys.size(); ++s) {
        kernels::axpy(scores[s], cache.value(donor, keys[s]) + kv_head * head_dim, result, head_dim);
      }
    }
  });
  matmul(context.data(), rows, w.o_proj, out);
}

void TextModel::mixture_of_experts(int64_t layer, const float* residual, int64_t rows, float* out) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t experts = *config_.num_experts;
  const int64_t top_k = config_.num_experts_per_token;
  const int64_t expert_width = *config_.expert_intermediate_dim;
  const float eps = static_cast<float>(config_.layer_norm_epsilon);

  // Router: on the un-normed residual; scale-free RMS norm, * hidden^-1/2, * per-dimension scale.
  std::vector<float> routed(static_cast<size_t>(rows * width));
  rms_norm(residual, nullptr, rows, width, eps, routed.data());
  const float root_scale = 1.0f / std::sqrt(static_cast<float>(width));
  const float* dim_scale = w.router_scale.f32();
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t i = 0; i < width; ++i) routed[t * width + i] *= root_scale * dim_scale[i];
  }
  std::vector<float> probabilities(static_cast<size_t>(rows * experts));
  matmul(routed.data(), rows, w.router_proj, probabilities.data());

  // Softmax over all experts, keep the top k, renormalise, then apply each expert's own scale.
  std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<size_t>(experts));  // (token, weight)
  for (int64_t t = 0; t < rows; ++t) {
    for (const ExpertChoice& choice :
         route_token(probabilities.data() + t * experts, experts, top_k, w.router_per_expert_scale.f32())) {
      assigned[choice.expert].emplace_back(t, choice.weight);
    }
  }

  // Experts read pre_feedforward_layernorm_2(residual); each runs once on the tokens routed to it.
  std::vector<float> expert_input(static_cast<size_t>(rows * width));
  rms_norm(residual, w.pre_ffn_norm_2.f32(), rows, width, eps, expert_input.data());
  std::fill(out, out + rows * width, 0.0f);
  std::vector<float> gathered, gate_up, activation, result;
  for (int64_t e = 0; e < experts; ++e) {
    const auto& tokens = assigned[e];
    if (tokens.empty()) continue;
    const int64_t count = static_cast<int64_t>(tokens.size());
    gathered.resize(static_cast<size_t>(count * width));
    for (int64_t i = 0; i < count; ++i) {
      std::copy_n(expert_input.data() + tokens[i].first * width, width, gathered.data() + i * width);
    }
    gate_up.resize(static_cast<size_t>(count * 2 * expert_width));
    matmul(gathered.data(), count, w.experts_gate_up.slice0(e), gate_up.data());
    activation.resize(static_cast<size_t>(count * expert_width));
    for (int64_t i = 0; i < count; ++i) {
      const float* gate = gate_up.data() + i * 2 * expert_width;  // first half: gate, second: up
      float* row = activation.data() + i * expert_width;
      std::copy_n(gate, expert_width, row);
      kernels::gelu_tanh_mul(row, gate + expert_width, expert_width);
    }
    result.resize(static_cast<size_t>(count * width));
    matmul(activation.data(), count, w.experts_down.slice0(e), result.data());
    for (int64_t i = 0; i < count; ++i) {
      float* target = out + tokens[i].first * width;
      for (int64_t j = 0; j < width; ++j) target[j] += tokens[i].second * result[i * width + j];
    }
  }
}

void TextModel::feed_forward(int64_t layer, const float* residual, int64_t rows, float* out) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t ffn_width = config_.ffn_width(layer);
  const float eps = static_cast<float>(config_.layer_norm_epsilon);

  std::vector<float> normed(static_cast<size_t>(rows * width));
  rms_norm(residual, w.pre_ffn_norm.f32(), rows, width, eps, normed.data());
  std::vector<float> gate(static_cast<size_t>(rows * ffn_width));
  std::vector<float> up(static_cast<size_t>(rows * ffn_width));
  matmul(normed.data(), rows, w.gate_proj, gate.data());
  matmul(normed.data(), rows, w.up_proj, up.data());
  kernels::gelu_tanh_mul(gate.data(), up.data(), rows * ffn_width);
  std::vector<float> dense(static_cast<size_t>(rows * width));
  matmul(gate.data(), rows, w.down_proj, dense.data());

  if (config_.enable_moe_block) {
    // The dense MLP and the experts each get their own post-norm; their sum gets the shared one.
    rms_norm(dense.data(), w.post_ffn_norm_1.f32(), rows, width, eps, dense.data());
    std::vector<float> experts(static_cast<size_t>(rows * width));
    mixture_of_experts(layer, residual, rows, experts.data());
    rms_norm(experts.data(), w.post_ffn_norm_2.f32(), rows, width, eps, experts.data());
    for (int64_t i = 0; i < rows * width; ++i) dense[i] += experts[i];
  }
  rms_norm(dense.data(), w.post_ffn_norm.f32(), rows, width, eps, out);
}

void TextModel::apply_per_layer_input(int64_t layer, const float* ple, int64_t rows, float* hidden) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t ple_width = config_.hidden_size_per_layer_input;
  const int64_t ple_row = config_.num_layers * ple_width;
  std::vector<float> gate(static_cast<size_t>(rows * ple_width));
  matmul(hidden, rows, w.ple_gate, gate.data());
  for (int64_t t = 0; t < rows; ++t) {
    kernels::gelu_tanh_mul(gate.data() + t * ple_width, ple + t * ple_row + layer * ple_width, ple_width);
  }
  std::vector<float> projected(static_cast<size_t>(rows * width));
  matmul(gate.data(), rows, w.ple_projection, projected.data());
  rms_norm(projected.data(), w.ple_post_norm.f32(), rows, width, static_cast<float>(config_.layer_norm_epsilon),
           projected.data());
  for (int64_t i = 0; i < rows * width; ++i) hidden[i] += projected[i];
}

void TextModel::forward_chunk(const ChunkInput& input, KvCache& cache, float* sequence_output,
                              const std::function<void(int64_t, const float*)>& on_layer_output) const {
  run_layers(input, cache, 0, sequence_output, on_layer_output);
}

void TextModel::forward_chunk_tail(const ChunkInput& input, KvCache& cache, int64_t output_rows,
                                   float* sequence_output) const {
  if (output_rows < 0 || output_rows > input.length) {
    throw Error("forward_chunk_tail: output_rows " + std::to_string(output_rows) + " is outside [0, " +
                std::to_string(input.length) + "]");
  }
  if (input.vision_groups == nullptr || output_rows == input.length) {
    run_layers(input, cache, input.length - output_rows, sequence_output, {});
    return;
  }
  // Image blocks attend both ways, so a kept row may need its neighbours' outputs: keep every row.
  std::vector<float> all(static_cast<size_t>(input.length * config_.hidden_dim));
  run_layers(input, cache, 0, all.data(), {});
  std::copy(all.end() - output_rows * config_.hidden_dim, all.end(), sequence_output);
}

void TextModel::run_layers(const ChunkInput& input, KvCache& cache, int64_t first_output_row, float* sequence_output,
                           const std::function<void(int64_t, const float*)>& on_layer_output) const {
  const int64_t rows = input.length;
  const int64_t width = config_.hidden_dim;
  const int64_t start = cache.length();
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  if (rows <= 0) return;
  if (start + rows > cache.max_context()) {
    throw Error("the input needs " + std::to_string(start + rows) + " positions but the context holds " +
                std::to_string(cache.max_context()));
  }
  if (rows > cache.max_chunk()) {
    throw Error("a chunk of " + std::to_string(rows) + " tokens is longer than the cache's chunk size " +
                std::to_string(cache.max_chunk()));
  }
  for (int64_t t = 0; t < rows; ++t) cache.set_valid(start + t, input.valid == nullptr || input.valid[t] != 0);

  std::vector<float> hidden(static_cast<size_t>(rows * width));
  embed(input, hidden.data());
  if (on_layer_output) on_layer_output(-1, hidden.data());
  const int64_t ple_row = config_.num_layers * config_.hidden_size_per_layer_input;
  std::vector<float> ple;
  if (config_.has_ple()) {
    ple.resize(static_cast<size_t>(rows * ple_row));
    per_layer_inputs(input, hidden.data(), ple.data());
  }

  // From the first layer of the trailing KV-shared run on, only rows >= first_output_row are computed.
  const int64_t trim_layer = config_.num_kv_shared_layers > 0 ? config_.first_kv_shared_layer() : config_.num_layers;
  std::vector<float> normed(static_cast<size_t>(rows * width));
  std::vector<float> branch(static_cast<size_t>(rows * width));
  int64_t row0 = 0;  // first row still computed
  ChunkInput active = input;
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    if (layer == trim_layer && first_output_row > 0) {
      row0 = first_output_row;
      active.length = rows - row0;
      if (active.token_ids) active.token_ids += row0;
      if (active.position_ids) active.position_ids += row0;
      if (active.valid) active.valid += row0;
      active.embedding_overrides = nullptr;
      active.embedding_override_mask = nullptr;
    }
    const int64_t count = rows - row0;
    if (count == 0) break;
    float* h = hidden.data() + row0 * width;
    const LayerWeights& w = weights_.layers[layer];
    rms_norm(h, w.input_norm.f32(), count, width, eps, normed.data());
    attention(layer, active, start + row0, normed.data(), cache, branch.data());
    rms_norm(branch.data(), w.post_attention_norm.f32(), count, width, eps, branch.data());
    for (int64_t i = 0; i < count * width; ++i) h[i] += branch[i];

    feed_forward(layer, h, count, branch.data());
    for (int64_t i = 0; i < count * width; ++i) h[i] += branch[i];

    if (config_.has_ple()) apply_per_layer_input(layer, ple.data() + row0 * ple_row, count, h);
    // layer_scalar scales the whole residual stream, not just the branch.
    for (int64_t i = 0; i < count * width; ++i) h[i] *= w.layer_scalar;
    if (on_layer_output) on_layer_output(layer, hidden.data());
  }
  cache.advance(rows);
  const int64_t outputs = rows - std::max(row0, first_output_row);
  if (outputs > 0) {
    rms_norm(hidden.data() + (rows - outputs) * width, weights_.final_norm.f32(), outputs, width, eps,
             sequence_output);
  }
}

void TextModel::logits(const float* hidden, int64_t rows, float* out) const {
  matmul(hidden, rows, weights_.lm_head, out);
  if (config_.final_logit_soft_cap) {
    kernels::soft_cap_inplace(out, rows * config_.vocabulary_size, static_cast<float>(*config_.final_logit_soft_cap));
  }
}

std::vector<float> masked_mean(const float* rows, const uint8_t* valid, int64_t length, int64_t width) {
  std::vector<float> mean(static_cast<size_t>(width), 0.0f);
  double count = 0;
  for (int64_t t = 0; t < length; ++t) {
    if (valid && !valid[t]) continue;
    count += 1;
    for (int64_t i = 0; i < width; ++i) mean[i] += rows[t * width + i];
  }
  const float divisor = static_cast<float>(std::max(count, 1e-9));  // all padded: a zero vector
  for (auto& value : mean) value /= divisor;
  return mean;
}

std::vector<float> TextModel::pool(const float* sequence_output, const uint8_t* valid, int64_t length) const {
  std::vector<float> mean = masked_mean(sequence_output, valid, length, config_.hidden_dim);
  std::vector<float> middle(static_cast<size_t>(*config_.pooling_intermediate_dim));
  matmul(mean.data(), 1, weights_.pooling_dense_1, middle.data());
  std::vector<float> embedding(static_cast<size_t>(*config_.embedding_dim));
  matmul(middle.data(), 1, weights_.pooling_dense_2, embedding.data());
  double sum_squares = 0;
  for (float value : embedding) sum_squares += static_cast<double>(value) * value;
  const float inverse = static_cast<float>(1.0 / std::sqrt(std::max(sum_squares, 1e-24)));
  for (auto& value : embedding) value *= inverse;
  return embedding;
}

}  // namespace gemma4
