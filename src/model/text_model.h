// The Gemma 4 text decoder: embeddings (+ per-layer embeddings), decoder layers, final norm,
// logits, and the embedding-model pooling head. Reads top to bottom in text_model.cc.
#pragma once

#include <gemma4/config.h>

#include <functional>
#include <memory>
#include <vector>

#include "model/kv_cache.h"
#include "model/lora_runtime.h"
#include "model/weights.h"

namespace gemma4 {

// One chunk of consecutive tokens of one sequence, appended after what the cache already holds.
struct ChunkInput {
  const int32_t* token_ids = nullptr;
  const int32_t* position_ids = nullptr;  // RoPE positions; null = cache index
  const uint8_t* valid = nullptr;         // 0 marks padding (never attended to); null = all valid
  int64_t length = 0;
  // Optional replacement rows of the scaled embeddings (vision/audio soft tokens): [length, hidden],
  // used where `embedding_override_mask` is non-zero.
  const float* embedding_overrides = nullptr;
  const uint8_t* embedding_override_mask = nullptr;
  // Image block id per token (0 = not an image token). With use_vision_bidirectional_attention, tokens of
  // the same block also see each other (future ones included) on sliding-type layers, as in KerasHub's
  // plain forward (never during generation).
  const int32_t* vision_groups = nullptr;
};

// One sequence's part of a batch (TextModel::forward_batch): a chunk of its tokens appended to its own cache,
// of which the last `output_rows` rows (0 <= output_rows <= length) come out final-normed.
struct BatchSegment {
  ChunkInput input;
  KvCache* cache = nullptr;
  int64_t output_rows = 0;
};

// Mean of the rows whose `valid` flag is set (all rows if `valid` is null); zeros if none is (KerasHub's
// Gemma4MeanPooling).
std::vector<float> masked_mean(const float* rows, const uint8_t* valid, int64_t length, int64_t width);

class TextModel {
 public:
  TextModel(Gemma4Config config, ModelWeights weights);

  const Gemma4Config& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }

  // Makes every forward pass add the live LoRA adapters of `state` (Backbone::enable_lora) to their projections,
  // W + (alpha / rank) a @ b (model/lora_runtime.h); null: the frozen weights alone. Not while a forward pass runs.
  void bind_lora(std::shared_ptr<const LoraTrainingState> state);
  const LoraRuntime* lora() const { return lora_.get(); }

  // Runs every layer over the chunk, storing its keys and values in `cache`, and writes the
  // final-normed hidden states [length, hidden] to `sequence_output`. `on_layer_output(l, h)` (optional)
  // sees the residual stream entering layer 0 (l = -1) and leaving each layer.
  void forward_chunk(const ChunkInput& input, KvCache& cache, float* sequence_output,
                     const std::function<void(int64_t layer, const float* hidden)>& on_layer_output = {}) const;

  // The same, when only the chunk's last `output_rows` rows (0 <= output_rows <= length) are wanted, as
  // in generation (the prompt's last token). The KV-shared layers at the end of the stack write nothing
  // to the cache, so the other rows stop at the last layer that does; sequence_output gets
  // [output_rows, hidden]. The cache ends up exactly as forward_chunk leaves it.
  void forward_chunk_tail(const ChunkInput& input, KvCache& cache, int64_t output_rows, float* sequence_output) const;

  // Several sequences in one pass: the rows of every segment go through each layer together (one matmul
  // per weight for the whole batch, so the weights are read once per step), each row attending over and
  // writing to its own segment's cache at its own position. `act` is the batch's working memory: its
  // max_chunk bounds the total rows. Each segment's output
  // rows go to sequence_output, [sum of output_rows, hidden], in segment order. The caches end up exactly as
  // forward_chunk_tail leaves each alone; a cache may appear in one segment only.
  void forward_batch(const BatchSegment* segments, int64_t count, TextActivations& act, float* sequence_output) const;

  // logits [rows, vocab] = hidden [rows, hidden] . lm_head^T, soft-capped when the config says so.
  void logits(const float* hidden, int64_t rows, float* out) const;

  // Embedding models: masked mean over valid rows, two dense projections, L2 normalisation.
  std::vector<float> pool(const float* sequence_output, const uint8_t* valid, int64_t length) const;

  // The scale applied to looked-up token embeddings: sqrt(hidden), rounded as normaliser() says.
  float embedding_scale() const { return embedding_scale_; }
  // The scale applied to looked-up per-layer embeddings: sqrt(hidden_size_per_layer_input), rounded the same way.
  float ple_token_scale() const { return ple_token_scale_; }

 private:
  // sqrt(width) as the model computes it: exact for float32 compute, else rounded to bf16 (or f16).
  float normaliser(int64_t width) const;
  void embed(const ChunkInput& input, float* hidden) const;
  // Fills act.row_segment / row_position from the segments' current rows (act.segment_*).
  void index_rows(const BatchSegment* segments, int64_t count, TextActivations& act) const;
  // The steps of one chunk, each reading and writing the named buffers of `act` (activations.h):
  // per_layer_inputs fills act.ple; attention reads act.normed and writes act.branch (keys and values
  // to the cache); feed_forward reads `residual` and writes act.branch; mixture_of_experts writes
  // act.moe_out; apply_per_layer_input adds into `hidden`.
  void per_layer_inputs(const BatchSegment* segments, int64_t count, int64_t rows, const float* hidden,
                        TextActivations& act) const;
  void attention(int64_t layer, const BatchSegment* segments, int64_t count, int64_t rows, TextActivations& act) const;
  void feed_forward(int64_t layer, const float* residual, int64_t rows, TextActivations& act) const;
  void mixture_of_experts(int64_t layer, const float* residual, int64_t rows, TextActivations& act) const;
  void apply_per_layer_input(int64_t layer, const float* ple, int64_t rows, float* hidden, TextActivations& act) const;
  // y += the live adapter's update on `slot` of `layer`, if there is one (bind_lora).
  void adapt(int64_t layer, LoraSlot slot, const float* x, int64_t rows, float* y, TextActivations& act) const {
    if (lora_) lora_->apply(layer, slot, x, rows, y, act);
  }
  // Throws unless the chunk fits the cache's context and chunk size.
  void check_chunk(const ChunkInput& input, const KvCache& cache) const;
  // The one forward pass (forward_chunk, forward_chunk_tail and forward_batch): rows nobody reads are dropped
  // after the last cache-writing layer (all kept for a segment with image blocks).
  void run_segments(const BatchSegment* segments, int64_t count, TextActivations& act, float* sequence_output,
                    const std::function<void(int64_t, const float*)>& on_layer_output) const;

  Gemma4Config config_;
  ModelWeights weights_;
  float embedding_scale_;
  float ple_token_scale_ = 1.0f;  // sqrt(hidden_size_per_layer_input), rounded as normaliser() says
  // MoE layers: each expert's matrices as views [layer][expert], cut once here (a slice builds a shape).
  std::vector<std::vector<TensorView>> expert_gate_up_, expert_down_;
  std::shared_ptr<const LoraRuntime> lora_;  // the live LoRA adapters; null without
};

}  // namespace gemma4
