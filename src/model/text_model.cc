// The text decoder's forward pass. Numerics follow Hugging Face transformers' Gemma 4 (the reference
// the released weights were verified with) in float32; where KerasHub differs, docs/numerics.md says
// which one is followed.
#include "model/text_model.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/attention_mask.h"
#include "model/moe_routing.h"

namespace gemma4 {

using kernels::matmul;
using kernels::rms_norm;

float TextModel::normaliser(int64_t width) const {
  // Gemma 4 was trained with sqrt(width) in bf16 (transformers casts it to the weights' dtype, bf16 for the
  // released checkpoints: sqrt(1536) -> 39.25). Only a checkpoint that declares float32 (or float16) compute
  // gets that precision; undeclared (GGUF) and bf16 ones get the bf16 value.
  const float exact = std::sqrt(static_cast<float>(width));
  if (config_.dtype == "float32") return exact;
  return round_to_dtype(exact, config_.dtype == "float16" ? DType::F16 : DType::BF16);
}

TextModel::TextModel(Gemma4Config config, ModelWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  // The normalisers are rounded to the compute dtype the checkpoint declares, not to the container's storage
  // type, so the same weights give the same logits as bf16 safetensors, F32 or Q8_0 GGUF (docs/numerics.md).
  embedding_scale_ = normaliser(config_.hidden_dim);
  ple_token_scale_ = normaliser(config_.hidden_size_per_layer_input);
  if (config_.enable_moe_block) {
    expert_gate_up_.resize(static_cast<size_t>(config_.num_layers));
    expert_down_.resize(static_cast<size_t>(config_.num_layers));
    for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
      for (int64_t e = 0; e < *config_.num_experts; ++e) {
        expert_gate_up_[layer].push_back(weights_.layers[layer].experts_gate_up.slice0(e));
        expert_down_[layer].push_back(weights_.layers[layer].experts_down.slice0(e));
      }
    }
  }
}

void TextModel::bind_lora(std::shared_ptr<const LoraTrainingState> state) {
  lora_ = state ? std::make_shared<const LoraRuntime>(config_, weights_, std::move(state)) : nullptr;
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

void TextModel::index_rows(const BatchSegment* segments, int64_t count, TextActivations& act) const {
  for (int64_t s = 0; s < count; ++s) {
    const ChunkInput& input = segments[s].input;
    const int64_t start = act.segment_start[s];
    const int64_t dropped = start - segments[s].cache->length();  // rows of the chunk no longer computed
    for (int64_t i = 0; i < act.segment_rows[s]; ++i) {
      const int64_t row = act.segment_first[s] + i;
      act.row_segment[row] = s;
      act.row_position[row] = input.position_ids ? static_cast<double>(input.position_ids[dropped + i])
                                                 : static_cast<double>(start + i);
    }
  }
}

void TextModel::per_layer_inputs(const BatchSegment* segments, int64_t count, int64_t rows, const float* hidden,
                                 TextActivations& act) const {
  const int64_t layers = config_.num_layers;
  const int64_t width = config_.hidden_size_per_layer_input;
  const int64_t row_width = layers * width;
  float* ple = act.ple.data();
  // Context part: project the scaled embeddings, scale by hidden^-1/2, RMS-normalise each layer's slice.
  matmul(hidden, rows, weights_.per_layer_model_projection, ple);
  const float projection_scale = 1.0f / std::sqrt(static_cast<float>(config_.hidden_dim));
  for (int64_t i = 0; i < rows * row_width; ++i) ple[i] *= projection_scale;
  rms_norm(ple, weights_.per_layer_projection_norm.f32(), rows * layers, width,
           static_cast<float>(config_.layer_norm_epsilon), ple);
  // Token part: this token's row of the per-layer table, scaled by sqrt(width). Multimodal placeholders
  // look up row 0 (the pad id), as the references do.
  const float token_scale = ple_token_scale_;
  const float combine_scale = static_cast<float>(1.0 / std::sqrt(2.0));
  float* token_row = act.ple_token_row.data();
  for (int64_t s = 0; s < count; ++s) {
    const ChunkInput& input = segments[s].input;
    for (int64_t t = 0; t < input.length; ++t) {
      const bool placeholder = input.embedding_override_mask && input.embedding_override_mask[t];
      const int32_t id = placeholder ? 0 : input.token_ids[t];
      if (id < 0 || id >= config_.ple_vocab_size()) {
        throw Error("token id " + std::to_string(id) + " is outside the per-layer embedding table of " +
                    std::to_string(config_.ple_vocab_size()) + " rows");
      }
      kernels::dequantize_row(weights_.embed_per_layer, id, token_row);
      float* out = ple + (act.segment_first[s] + t) * row_width;
      for (int64_t i = 0; i < row_width; ++i) out[i] = (out[i] + token_row[i] * token_scale) * combine_scale;
    }
  }
}

void TextModel::attention(int64_t layer, const BatchSegment* segments, int64_t count, int64_t rows,
                          TextActivations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t head_dim = config_.layer_head_dim(layer);
  const int64_t q_heads = config_.num_query_heads;
  const int64_t kv_heads = config_.layer_kv_heads(layer);
  const int64_t rope_pairs = config_.rope_pairs(layer);
  const double wavelength = config_.rope_wavelength(layer);
  const double rope_scaling = config_.rope_scaling_factor(layer);
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  const float* normed = act.normed.data();
  auto position_of = [&](int64_t t) { return act.row_position[t]; };
  // Where row t of the batch goes in its own sequence's cache.
  auto cache_index = [&](int64_t t) {
    const int64_t s = act.row_segment[t];
    return act.segment_start[s] + (t - act.segment_first[s]);
  };

  // Queries: project, RMS-normalise each head, rotate.
  float* q = act.q.data();
  matmul(normed, rows, w.q_proj, q);
  adapt(layer, LoraSlot::query, normed, rows, q, act);
  rms_norm(q, w.q_norm.f32(), rows * q_heads, head_dim, eps, q);
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t h = 0; h < q_heads; ++h) {
      kernels::rope_inplace(q + (t * q_heads + h) * head_dim, head_dim, rope_pairs, position_of(t), wavelength,
                            rope_scaling);
    }
  }

  // Keys and values of this chunk, unless this layer reads a donor's.
  if (!config_.is_kv_shared(layer)) {
    const int64_t kv_width = kv_heads * head_dim;
    float* k = act.k.data();
    float* v = act.v.data();
    matmul(normed, rows, w.k_proj, k);
    adapt(layer, LoraSlot::key, normed, rows, k, act);
    if (w.v_proj.empty()) {
      std::copy_n(k, rows * kv_width, v);  // K=V: values are the raw key projection (before k_norm and RoPE)
    } else {
      matmul(normed, rows, w.v_proj, v);
      adapt(layer, LoraSlot::value, normed, rows, v, act);
    }
    rms_norm(k, w.k_norm.f32(), rows * kv_heads, head_dim, eps, k);
    rms_norm(v, nullptr, rows * kv_heads, head_dim, eps, v);
    for (int64_t t = 0; t < rows; ++t) {
      for (int64_t h = 0; h < kv_heads; ++h) {
        kernels::rope_inplace(k + (t * kv_heads + h) * head_dim, head_dim, rope_pairs, position_of(t), wavelength,
                              rope_scaling);
      }
      KvCache& cache = *segments[act.row_segment[t]].cache;
      cache.store(layer, cache_index(t), k + t * kv_width, v + t * kv_width);  // rounded to the cache's type
    }
  }

  const int64_t donor = config_.kv_donor(layer);
  MaskRule rule;
  rule.bidirectional = config_.use_bidirectional_attention;
  rule.windowed = config_.is_windowed(layer);
  rule.window = config_.sliding_window_size;
  const bool image_blocks = config_.use_vision_bidirectional_attention && !config_.is_global(layer);
  kernels::AttentionOptions options;
  options.head_dim = head_dim;
  options.scale = 1.0f;  // the q/k norms take the place of 1/sqrt(head_dim)
  options.soft_cap = config_.attention_logit_soft_cap.value_or(0.0);

  // Each segment attends over its own sequence's cache: each of its rows sees one run of keys (its mask
  // span, within what the cache still holds), less padding.
  for (int64_t segment = 0; segment < count; ++segment) {
    const KvCache& cache = *segments[segment].cache;
    const int64_t first_row = act.segment_first[segment];
    const int64_t segment_rows = act.segment_rows[segment];
    const int64_t start = act.segment_start[segment];
    const int64_t end = start + segment_rows;
    ImageBlocks blocks;
    if (image_blocks && segments[segment].input.vision_groups != nullptr) {
      blocks = {segments[segment].input.vision_groups, start, segment_rows};
    }
    const int64_t oldest = cache.oldest_kept(donor, end);
    for (int64_t r = 0; r < segment_rows; ++r) {
      const int64_t query = start + r;
      act.attention_first[r] = 0, act.attention_last[r] = -1;
      if (!query_attends(rule, cache.valid(query))) continue;  // stays zero
      const KeyRange span = QueryMask(rule, query, end, blocks).span();
      act.attention_first[r] = std::max(span.first, oldest);
      act.attention_last[r] = span.last;
    }
    kernels::TiledAttention problem;
    problem.queries = q + first_row * q_heads * head_dim;
    problem.out = act.context.data() + first_row * q_heads * head_dim;
    problem.rows = segment_rows;
    problem.heads = q_heads;
    problem.row_stride = q_heads * head_dim;
    problem.kv = cache.rows(donor, 0);
    problem.kv_heads = kv_heads;
    problem.kv_head_stride = head_dim;
    problem.first = act.attention_first.data();
    problem.last = act.attention_last.data();
    problem.key_valid = cache.has_padding() ? cache.valid_flags() : nullptr;
    problem.options = options;
    kernels::attend_tiled(problem, ThreadPool::global());
  }
  const float* context = act.context.data();
  matmul(context, rows, w.o_proj, act.branch.data());
  adapt(layer, LoraSlot::output, context, rows, act.branch.data(), act);
}

void TextModel::mixture_of_experts(int64_t layer, const float* residual, int64_t rows, TextActivations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t experts = *config_.num_experts;
  const int64_t top_k = config_.num_experts_per_token;
  const int64_t expert_width = *config_.expert_intermediate_dim;
  const float eps = static_cast<float>(config_.layer_norm_epsilon);

  // Router: on the un-normed residual; scale-free RMS norm, * hidden^-1/2, * per-dimension scale.
  float* routed = act.router_input.data();
  rms_norm(residual, nullptr, rows, width, eps, routed);
  const float root_scale = 1.0f / std::sqrt(static_cast<float>(width));
  const float* dim_scale = w.router_scale.f32();
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t i = 0; i < width; ++i) routed[t * width + i] *= root_scale * dim_scale[i];
  }
  float* probabilities = act.router_probabilities.data();
  matmul(routed, rows, w.router_proj, probabilities);

  // Softmax over all experts, keep the top k, renormalise, then apply each expert's own scale.
  ExpertChoice* choices = act.choices.data();
  for (int64_t t = 0; t < rows; ++t) {
    route_token(probabilities + t * experts, experts, top_k, w.router_per_expert_scale.f32(), act.expert_order.data(),
                choices + t * top_k);
  }
  // Group the (token, weight) pairs by expert, tokens in order within each (a counting sort).
  int64_t* begin = act.expert_begin.data();
  std::fill_n(begin, experts + 1, int64_t{0});
  for (int64_t c = 0; c < rows * top_k; ++c) ++begin[choices[c].expert + 1];
  for (int64_t e = 0; e < experts; ++e) begin[e + 1] += begin[e];
  auto* assigned = act.assigned.data();
  for (int64_t c = 0; c < rows * top_k; ++c) {
    const int64_t e = choices[c].expert;
    assigned[begin[e]++] = {c / top_k, choices[c].weight};
  }
  for (int64_t e = experts; e > 0; --e) begin[e] = begin[e - 1];  // back to each expert's first entry
  begin[0] = 0;

  // Experts read pre_feedforward_layernorm_2(residual); each runs once on the tokens routed to it.
  float* expert_input = act.expert_input.data();
  rms_norm(residual, w.pre_ffn_norm_2.f32(), rows, width, eps, expert_input);
  float* out = act.moe_out.data();
  std::fill_n(out, rows * width, 0.0f);
  float* gathered = act.expert_rows.data();
  float* gate_up = act.expert_gate_up.data();
  float* activation = act.expert_hidden.data();
  float* result = act.expert_result.data();
  for (int64_t e = 0; e < experts; ++e) {
    const auto* tokens = assigned + begin[e];
    const int64_t count = begin[e + 1] - begin[e];
    if (count == 0) continue;
    for (int64_t i = 0; i < count; ++i) {
      std::copy_n(expert_input + tokens[i].first * width, width, gathered + i * width);
    }
    matmul(gathered, count, expert_gate_up_[layer][e], gate_up);
    for (int64_t i = 0; i < count; ++i) {
      const float* gate = gate_up + i * 2 * expert_width;  // first half: gate, second: up
      float* row = activation + i * expert_width;
      std::copy_n(gate, expert_width, row);
      kernels::gelu_tanh_mul(row, gate + expert_width, expert_width);
    }
    matmul(activation, count, expert_down_[layer][e], result);
    for (int64_t i = 0; i < count; ++i) {
      float* target = out + tokens[i].first * width;
      for (int64_t j = 0; j < width; ++j) target[j] += tokens[i].second * result[i * width + j];
    }
  }
}

void TextModel::feed_forward(int64_t layer, const float* residual, int64_t rows, TextActivations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t ffn_width = config_.ffn_width(layer);
  const float eps = static_cast<float>(config_.layer_norm_epsilon);

  float* normed = act.mlp_normed.data();
  float* gate = act.gate.data();
  float* up = act.up.data();
  float* dense = act.mlp_out.data();
  rms_norm(residual, w.pre_ffn_norm.f32(), rows, width, eps, normed);
  matmul(normed, rows, w.gate_proj, gate);
  adapt(layer, LoraSlot::gate, normed, rows, gate, act);
  matmul(normed, rows, w.up_proj, up);
  adapt(layer, LoraSlot::up, normed, rows, up, act);
  kernels::gelu_tanh_mul(gate, up, rows * ffn_width);
  matmul(gate, rows, w.down_proj, dense);
  adapt(layer, LoraSlot::down, gate, rows, dense, act);

  if (config_.enable_moe_block) {
    // The dense MLP and the experts each get their own post-norm; their sum gets the shared one.
    rms_norm(dense, w.post_ffn_norm_1.f32(), rows, width, eps, dense);
    mixture_of_experts(layer, residual, rows, act);
    float* experts = act.moe_out.data();
    rms_norm(experts, w.post_ffn_norm_2.f32(), rows, width, eps, experts);
    for (int64_t i = 0; i < rows * width; ++i) dense[i] += experts[i];
  }
  rms_norm(dense, w.post_ffn_norm.f32(), rows, width, eps, act.branch.data());
}

void TextModel::apply_per_layer_input(int64_t layer, const float* ple, int64_t rows, float* hidden,
                                      TextActivations& act) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t width = config_.hidden_dim;
  const int64_t ple_width = config_.hidden_size_per_layer_input;
  const int64_t ple_row = config_.num_layers * ple_width;
  float* gate = act.ple_gate.data();
  matmul(hidden, rows, w.ple_gate, gate);
  adapt(layer, LoraSlot::ple_gate, hidden, rows, gate, act);
  for (int64_t t = 0; t < rows; ++t) {
    kernels::gelu_tanh_mul(gate + t * ple_width, ple + t * ple_row + layer * ple_width, ple_width);
  }
  float* projected = act.ple_projected.data();
  matmul(gate, rows, w.ple_projection, projected);
  adapt(layer, LoraSlot::ple_projection, gate, rows, projected, act);
  rms_norm(projected, w.ple_post_norm.f32(), rows, width, static_cast<float>(config_.layer_norm_epsilon), projected);
  for (int64_t i = 0; i < rows * width; ++i) hidden[i] += projected[i];
}

void TextModel::forward_chunk(const ChunkInput& input, KvCache& cache, float* sequence_output,
                              const std::function<void(int64_t, const float*)>& on_layer_output) const {
  const BatchSegment segment{input, &cache, input.length};
  if (input.length <= 0) return;
  run_segments(&segment, 1, cache.activations(), sequence_output, on_layer_output);
}

void TextModel::forward_chunk_tail(const ChunkInput& input, KvCache& cache, int64_t output_rows,
                                   float* sequence_output) const {
  if (output_rows < 0 || output_rows > input.length) {
    throw Error("forward_chunk_tail: output_rows " + std::to_string(output_rows) + " is outside [0, " +
                std::to_string(input.length) + "]");
  }
  if (input.length <= 0) return;
  const BatchSegment segment{input, &cache, output_rows};
  run_segments(&segment, 1, cache.activations(), sequence_output, {});
}

void TextModel::forward_batch(const BatchSegment* segments, int64_t count, TextActivations& act,
                              float* sequence_output) const {
  run_segments(segments, count, act, sequence_output, {});
}

void TextModel::check_chunk(const ChunkInput& input, const KvCache& cache) const {
  const int64_t start = cache.length();
  if (start + input.length > cache.max_context()) {
    throw Error("the input needs " + std::to_string(start + input.length) + " positions but the context holds " +
                std::to_string(cache.max_context()));
  }
  if (input.length > cache.max_chunk()) {
    throw Error("a chunk of " + std::to_string(input.length) + " tokens is longer than the cache's chunk size " +
                std::to_string(cache.max_chunk()));
  }
}

void TextModel::run_segments(const BatchSegment* segments, int64_t count, TextActivations& act, float* sequence_output,
                             const std::function<void(int64_t, const float*)>& on_layer_output) const {
  const int64_t width = config_.hidden_dim;
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  if (count <= 0) return;
  int64_t rows = 0;
  for (int64_t s = 0; s < count; ++s) {
    const BatchSegment& segment = segments[s];
    const auto which = [s] { return "batch segment " + std::to_string(s); };  // built only for an error
    if (segment.cache == nullptr) throw Error(which() + " has no KV cache");
    if (segment.input.length <= 0) throw Error(which() + " has no tokens");
    if (segment.output_rows < 0 || segment.output_rows > segment.input.length) {
      throw Error(which() + ": output_rows " + std::to_string(segment.output_rows) + " is outside [0, " +
                  std::to_string(segment.input.length) + "]");
    }
    for (int64_t other = 0; other < s; ++other) {
      if (segments[other].cache == segment.cache) throw Error(which() + " uses the KV cache of segment " + std::to_string(other));
    }
    check_chunk(segment.input, *segment.cache);
    rows += segment.input.length;
  }
  if (rows > act.max_chunk) {
    throw Error("a batch of " + std::to_string(rows) + " rows exceeds its working memory of " +
                std::to_string(act.max_chunk) + " rows");
  }

  float* hidden = act.hidden.data();
  int64_t first = 0;
  for (int64_t s = 0; s < count; ++s) {
    const ChunkInput& input = segments[s].input;
    KvCache& cache = *segments[s].cache;
    for (int64_t t = 0; t < input.length; ++t) {
      cache.set_valid(cache.length() + t, input.valid == nullptr || input.valid[t] != 0);
    }
    act.segment_first[s] = first;
    act.segment_rows[s] = input.length;
    act.segment_start[s] = cache.length();
    embed(input, hidden + first * width);
    first += input.length;
  }
  index_rows(segments, count, act);
  if (on_layer_output) on_layer_output(-1, hidden);
  const int64_t ple_row = config_.num_layers * config_.hidden_size_per_layer_input;
  if (config_.has_ple()) per_layer_inputs(segments, count, rows, hidden, act);

  // From the first layer of the trailing KV-shared run on, only the rows that come out are computed (all of a
  // segment with image blocks, whose rows may see later ones): the others are moved out of the batch.
  const int64_t trim_layer = config_.num_kv_shared_layers > 0 ? config_.first_kv_shared_layer() : config_.num_layers;
  float* normed = act.normed.data();
  float* branch = act.branch.data();
  int64_t active = rows;  // rows still computed
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    if (layer == trim_layer) {
      int64_t kept_rows = 0;
      for (int64_t s = 0; s < count; ++s) {
        const int64_t keep = segments[s].input.vision_groups ? act.segment_rows[s] : segments[s].output_rows;
        const int64_t drop = act.segment_rows[s] - keep;
        const int64_t from = act.segment_first[s] + drop;
        if (from != kept_rows && keep > 0) {  // moving rows towards the front: a forward copy is safe
          std::copy_n(hidden + from * width, keep * width, hidden + kept_rows * width);
          if (config_.has_ple()) std::copy_n(act.ple.data() + from * ple_row, keep * ple_row, act.ple.data() + kept_rows * ple_row);
        }
        act.segment_first[s] = kept_rows;
        act.segment_rows[s] = keep;
        act.segment_start[s] += drop;
        kept_rows += keep;
      }
      active = kept_rows;
      index_rows(segments, count, act);
    }
    if (active == 0) break;
    const LayerWeights& w = weights_.layers[layer];
    rms_norm(hidden, w.input_norm.f32(), active, width, eps, normed);
    attention(layer, segments, count, active, act);
    rms_norm(branch, w.post_attention_norm.f32(), active, width, eps, branch);
    for (int64_t i = 0; i < active * width; ++i) hidden[i] += branch[i];

    feed_forward(layer, hidden, active, act);
    for (int64_t i = 0; i < active * width; ++i) hidden[i] += branch[i];

    if (config_.has_ple()) apply_per_layer_input(layer, act.ple.data(), active, hidden, act);
    // layer_scalar scales the whole residual stream, not just the branch.
    for (int64_t i = 0; i < active * width; ++i) hidden[i] *= w.layer_scalar;
    if (on_layer_output) on_layer_output(layer, hidden);
  }
  for (int64_t s = 0; s < count; ++s) segments[s].cache->advance(segments[s].input.length);
  int64_t written = 0;
  for (int64_t s = 0; s < count; ++s) {
    const int64_t outputs = segments[s].output_rows;
    if (outputs == 0) continue;
    const int64_t from = act.segment_first[s] + act.segment_rows[s] - outputs;
    rms_norm(hidden + from * width, weights_.final_norm.f32(), outputs, width, eps, sequence_output + written * width);
    written += outputs;
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
