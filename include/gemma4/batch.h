// BatchGenerator: many text generations at once on one CausalLM's model. Each step runs one forward pass
// over a row per decoding sequence plus chunks of the prompts still being read, so the weights are read
// once per step for all of them; sequences join and leave between steps (continuous batching).
//
// KV memory is a pool of `max_sequences` slots fixed when the generator is made (docs/serving.md says why
// slots and not blocks): each slot is one sequence's cache of `max_context` positions (sliding-window layers
// a ring of window + chunk). A finished sequence's slot keeps its keys and values, and the next prompt goes to
// the free slot sharing the longest prefix with it, which it then does not run again.
//
// Greedy generation gives each sequence exactly the tokens CausalLM::generate gives it alone (the rows of a
// batch do not mix: every product and attention is per row).
//
// Not thread-safe: one thread adds, cancels and steps (gemma4 serve's scheduler).
#pragma once

#include <gemma4/causal_lm.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {

struct BatchOptions {
  int64_t max_sequences = 4;     // KV slots: sequences generating at once
  int64_t max_context = 4096;    // positions each slot holds (prompt + generated)
  int64_t prefill_chunk = 256;   // prompt tokens one sequence runs per step
  int64_t max_batch_tokens = 0;  // rows per step, all sequences together (0: prefill_chunk + max_sequences)
  KvType kv_type = KvType::kBf16;  // how each slot stores keys and values (gemma4/kv_type.h)
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;  // natural log
};

// One generated token as the callback sees it.
struct TokenEvent {
  int32_t token = -1;            // -1: the last text, flushed when generation ends
  std::string text;              // text that became complete with this token (stop strings held back and cut)
  // With SequenceRequest::top_logprobs >= 0: log-probability of `token` under the model's distribution
  // (log-softmax of the logits, before temperature and the sampling filters, as vLLM reports them) and the
  // `top_logprobs` most likely tokens, most likely first.
  float logprob = 0;
  std::vector<TokenLogprob> top;
};

// Return false to stop the sequence (stop_reason "callback").
using BatchTokenCallback = std::function<bool(const TokenEvent& event)>;
// Called once when the sequence ends, whatever ended it (then its slot is free).
using BatchDoneCallback = std::function<void(const GenerationResult& result)>;

struct SequenceRequest {
  std::vector<int32_t> prompt;  // token ids (text only: prompts with images or audio go through CausalLM)
  GenerationConfig config;
  int top_logprobs = -1;        // -1: no log-probabilities; 0: the chosen token's; k: and the k most likely
  BatchTokenCallback on_token;
  BatchDoneCallback on_done;
};

// How full the generator is (for metrics and load reporting).
struct BatchLoad {
  int64_t sequences = 0;        // running (prefilling or decoding)
  int64_t slots = 0;            // max_sequences
  int64_t kv_positions = 0;     // positions held by running sequences' caches
  int64_t kv_capacity = 0;      // slots * max_context
  int64_t kv_bytes = 0;         // the pool's key/value memory
};

// Key/value bytes of one sequence slot.
int64_t kv_bytes_per_sequence(const Gemma4Config& config, int64_t max_context, int64_t prefill_chunk,
                              KvType kv_type = KvType::kBf16);
// Key/value bytes one position adds, summed over the layers that store keys (gemma4 serve prints it); with
// `global_only` the full-attention layers alone (what each position past the sliding window still costs).
int64_t kv_bytes_per_position(const Gemma4Config& config, KvType kv_type, bool global_only = false);
// gemma4 serve --parallel's default: as many slots as fit in a quarter of the memory available now, at most 8
// (past that a CPU's step turns compute-bound and streams gain little), at least 1.
int64_t default_parallel(const Gemma4Config& config, int64_t max_context, int64_t prefill_chunk,
                         KvType kv_type = KvType::kBf16);

class BatchGenerator {
 public:
  using SequenceId = int64_t;

  // `lm` supplies the model, the tokenizer (for text; may be null: only token ids come out) and the stop ids;
  // it must outlive the generator and is only read.
  BatchGenerator(const CausalLM& lm, const BatchOptions& options);
  ~BatchGenerator();
  BatchGenerator(const BatchGenerator&) = delete;
  BatchGenerator& operator=(const BatchGenerator&) = delete;

  const BatchOptions& options() const { return options_; }

  // Queues a sequence into a free slot; it runs from the next step. Throws gemma4::Error when no slot is free
  // (free_slots() == 0) or the request is invalid (empty prompt, ids outside the vocabulary, a prompt longer
  // than max_context, bad sampling settings).
  SequenceId add(SequenceRequest request);
  // Ends a sequence before the next step runs it (stop_reason "cancelled", or `reason`); unknown ids are ignored.
  void cancel(SequenceId id, const std::string& reason = "cancelled");
  // One forward pass over every running sequence, then each samples, streams and maybe ends. Returns false
  // (and does nothing) when no sequence is running.
  bool step();

  int64_t running() const;
  int64_t free_slots() const;
  BatchLoad load() const;

 private:
  struct Impl;
  BatchOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma4
