#include "model/activations.h"

#include <algorithm>

namespace gemma4 {
namespace {

std::vector<float> floats(int64_t count) { return std::vector<float>(static_cast<size_t>(std::max<int64_t>(count, 0))); }

}  // namespace

TextActivations::TextActivations(const Gemma4Config& config, int64_t chunk_rows) : max_chunk(chunk_rows) {
  const int64_t rows = max_chunk;
  const int64_t width = config.hidden_dim;
  int64_t head_dim = 0, kv_width = 0, ffn_width = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    head_dim = std::max(head_dim, config.layer_head_dim(layer));
    kv_width = std::max(kv_width, config.layer_kv_heads(layer) * config.layer_head_dim(layer));
    ffn_width = std::max(ffn_width, config.ffn_width(layer));
  }

  hidden = floats(rows * width);
  normed = floats(rows * width);
  branch = floats(rows * width);
  tail_rows = floats(rows * width);

  if (config.has_ple()) {
    const int64_t ple_width = config.hidden_size_per_layer_input;
    ple = floats(rows * config.num_layers * ple_width);
    ple_token_row = floats(config.num_layers * ple_width);
    ple_gate = floats(rows * ple_width);
    ple_projected = floats(rows * width);
  }

  q = floats(rows * config.num_query_heads * head_dim);
  k = floats(rows * kv_width);
  v = floats(rows * kv_width);
  context = floats(rows * config.num_query_heads * head_dim);
  attention_first.assign(static_cast<size_t>(rows), 0);
  attention_last.assign(static_cast<size_t>(rows), 0);

  mlp_normed = floats(rows * width);
  gate = floats(rows * ffn_width);
  up = floats(rows * ffn_width);
  mlp_out = floats(rows * width);

  if (config.enable_moe_block) {
    const int64_t experts = config.num_experts.value_or(0);
    const int64_t top_k = config.num_experts_per_token;
    const int64_t expert_width = config.expert_intermediate_dim.value_or(0);
    moe_out = floats(rows * width);
    router_input = floats(rows * width);
    router_probabilities = floats(rows * experts);
    expert_order.assign(static_cast<size_t>(experts), 0);
    choices.assign(static_cast<size_t>(rows * top_k), ExpertChoice{0, 0.0f});
    expert_begin.assign(static_cast<size_t>(experts + 1), 0);
    assigned.assign(static_cast<size_t>(rows * top_k), {0, 0.0f});
    expert_input = floats(rows * width);
    // A token picks an expert at most once, so one expert gets at most `rows` tokens.
    expert_rows = floats(rows * width);
    expert_gate_up = floats(rows * 2 * expert_width);
    expert_hidden = floats(rows * expert_width);
    expert_result = floats(rows * width);
  }

  row_segment.assign(static_cast<size_t>(rows), 0);
  row_position.assign(static_cast<size_t>(rows), 0.0);
  segment_first.assign(static_cast<size_t>(rows), 0);
  segment_rows.assign(static_cast<size_t>(rows), 0);
  segment_start.assign(static_cast<size_t>(rows), 0);

  last_hidden = floats(width);
  lora_view.shape = {0, 0};
}

}  // namespace gemma4
