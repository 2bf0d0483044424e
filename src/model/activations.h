// Working memory of the text decoder's forward pass for one sequence (gemma.cpp's Activations, llama2.c's
// RunState): every buffer a chunk of up to `max_chunk` tokens needs, allocated once by the constructor,
// the one place that sizes them, so that running a chunk (a decoded token above all) allocates nothing.
// It lives in the sequence's KvCache (kv_cache.h): both are per sequence, sized by the same chunk and
// context lengths, and passed together to every forward call, while the TextModel stays const and
// shareable. Rows are [tokens of the chunk, width]; a buffer is only valid within the step named.
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "kernels/attention.h"
#include "model/moe_routing.h"

namespace gemma4 {

struct TextActivations {
  TextActivations(const Gemma4Config& config, int64_t max_chunk);

  int64_t max_chunk;

  // --- The residual stream, whole forward pass. ---
  std::vector<float> hidden;     // [chunk, hidden] embeddings, then the residual stream layer by layer
  std::vector<float> normed;     // [chunk, hidden] input_norm(residual), read by attention
  std::vector<float> branch;     // [chunk, hidden] attention / MLP output before it joins the residual
  std::vector<float> tail_rows;  // [chunk, hidden] final-normed rows when a tail needs all of them (image blocks)

  // --- Per-layer inputs (models with PLE). ---
  std::vector<float> ple;            // [chunk, layers * ple_width], whole forward pass
  std::vector<float> ple_token_row;  // [layers * ple_width] one token's table row
  std::vector<float> ple_gate;       // [chunk, ple_width] per layer
  std::vector<float> ple_projected;  // [chunk, hidden] per layer

  // --- Attention, per layer. ---
  std::vector<float> q;        // [chunk, q_heads * head_dim] (widest layer)
  std::vector<float> k, v;     // [chunk, kv_heads * head_dim] (widest layer) before they go to the cache
  std::vector<float> context;  // [chunk, q_heads * head_dim] softmax(q k^T) v, before o_proj
  std::vector<int64_t> attention_first, attention_last;  // [chunk] each row's run of visible keys

  // --- Feed-forward, per layer. ---
  std::vector<float> mlp_normed;  // [chunk, hidden] pre_ffn_norm(residual)
  std::vector<float> gate, up;    // [chunk, ffn_width] (widest layer); gate ends up as gelu(gate) * up
  std::vector<float> mlp_out;     // [chunk, hidden] down projection (+ experts), before post_ffn_norm

  // --- Mixture of experts, per layer (MoE models). ---
  std::vector<float> moe_out;                      // [chunk, hidden] weighted sum of the experts
  std::vector<float> router_input;                 // [chunk, hidden] normed, scaled residual
  std::vector<float> router_probabilities;         // [chunk, experts]
  std::vector<int64_t> expert_order;               // [experts] route_token's sort
  std::vector<ExpertChoice> choices;               // [chunk, top_k]
  std::vector<int64_t> expert_begin;               // [experts + 1] offsets into `assigned`
  std::vector<std::pair<int64_t, float>> assigned; // [chunk * top_k] (token, weight), grouped by expert
  std::vector<float> expert_input;                 // [chunk, hidden] pre_ffn_norm_2(residual)
  std::vector<float> expert_rows;                  // [chunk, hidden] the rows routed to one expert
  std::vector<float> expert_gate_up;               // [chunk, 2 * expert_width]
  std::vector<float> expert_hidden;                // [chunk, expert_width]
  std::vector<float> expert_result;                // [chunk, hidden]

  // --- Rows of a batch (text_model.h's forward_batch): which segment each row belongs to, its RoPE
  // position, and per segment its first row, rows still computed and the cache index of its first row
  // (the KV-shared layers at the end of the stack drop the rows nobody reads). ---
  std::vector<int64_t> row_segment;   // [chunk]
  std::vector<double> row_position;   // [chunk]
  std::vector<int64_t> segment_first, segment_rows, segment_start;  // [chunk] (at most one segment per row)

  // --- Live LoRA adapters (model/lora_runtime.h), per adapted projection. Empty until a forward pass meets an
  // adapter with a nonzero b; then sized once for the largest one (the rank is not known here). ---
  std::vector<float> lora_factor;  // [heads * rank, in] the adapter's a, transposed
  std::vector<float> lora_down;    // [chunk, heads * rank] x a
  TensorView lora_view;            // lora_factor as a matrix (its shape holds two entries from the start)

  // --- Output. ---
  std::vector<float> last_hidden;  // [hidden] a caller's final-normed row of the last token
};

}  // namespace gemma4
