// BatchGenerator (gemma4/batch.h): the sequences of a KvCachePool run together, one forward_batch per step.
// Each sequence samples, stops and streams exactly as CausalLM::generate does (same Sampler, TextStream and
// stop rules), so a sequence's tokens do not depend on what else is in the batch.
#include <gemma4/batch.h>
#include <gemma4/error.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <unistd.h>

#include "generate/sampler.h"
#include "generate/text_stream.h"
#include "model/backbone_parts.h"
#include "model/batch_pool.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

struct BatchGenerator::Impl {
  struct Sequence {
    SequenceId id = 0;
    SequenceRequest request;
    int64_t slot = -1;
    std::vector<int32_t> stop_ids;
    size_t fed = 0;            // prompt tokens whose keys are in the cache (a reused prefix included)
    bool decoding = false;     // the prompt has run; `next_token` is fed next
    int32_t next_token = -1;
    Sampler sampler;
    std::vector<int32_t> context;  // what the repetition penalty sees
    std::vector<float> logits;     // [vocab] this sequence's row of the step's logits (the sampler edits it)
    std::vector<int32_t> order;    // [vocab] scratch of the top-logprobs sort (only when asked for)
    TextStream stream;
    GenerationResult result;
    Clock::time_point added, first_token;
    std::string cancel_reason;     // non-empty: end before the next step

    Sequence(SequenceRequest r, const Tokenizer* tokenizer)
        : request(std::move(r)), sampler(request.config.sampling), stream(tokenizer, request.config.stop_strings) {}
  };

  Impl(const CausalLM& lm, const BatchOptions& options)
      : model(text_model_of(lm.backbone())),
        tokenizer(lm.tokenizer()),
        pool(lm.config(), options.max_sequences, options.max_context, options.prefill_chunk, options.max_batch_tokens,
             options.kv_type),
        vocab(lm.config().vocabulary_size),
        width(lm.config().hidden_dim) {
    if (tokenizer) {
      default_stop_ids = tokenizer->stop_ids();
    } else {
      for (int64_t id : lm.config().eos_token_ids) default_stop_ids.push_back(static_cast<int32_t>(id));
    }
    hidden.assign(static_cast<size_t>(options.max_sequences * width), 0.0f);
    logits.assign(static_cast<size_t>(options.max_sequences * vocab), 0.0f);
    segments.reserve(static_cast<size_t>(options.max_sequences));
    segment_owner.reserve(static_cast<size_t>(options.max_sequences));
    outputs.reserve(static_cast<size_t>(options.max_sequences));
  }

  // The sequence has ended: the last text, the result, the slot back to the pool, on_done.
  void end(Sequence& sequence, const std::string& reason) {
    sequence.result.stop_reason = reason;
    const std::string rest = sequence.stream.finish();
    if (sequence.request.on_token && !rest.empty()) {
      TokenEvent event;
      event.text = rest;
      sequence.request.on_token(event);
    }
    sequence.result.text = sequence.stream.text();
    const Clock::time_point now = Clock::now();
    const bool sampled = !sequence.result.tokens.empty();
    sequence.result.prompt_seconds = seconds_between(sequence.added, sampled ? sequence.first_token : now);
    sequence.result.generation_seconds = sampled ? seconds_between(sequence.first_token, now) : 0.0;
    pool.release(sequence.slot);
    sequence.slot = -1;
    if (sequence.request.on_done) sequence.request.on_done(sequence.result);
  }

  void remove_ended() {
    running.erase(std::remove_if(running.begin(), running.end(), [](const auto& s) { return s->slot < 0; }),
                  running.end());
  }

  // log-softmax of the raw logits: the chosen token's and the k most likely (before the sampler edits them).
  void fill_logprobs(Sequence& sequence, int32_t token, TokenEvent& event) {
    const float* row = sequence.logits.data();
    const float max_logit = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] - max_logit));
    const double log_sum = std::log(sum);
    auto logprob = [&](int32_t id) { return static_cast<float>(row[id] - max_logit - log_sum); };
    event.logprob = logprob(token);
    const int64_t k = std::min<int64_t>(sequence.request.top_logprobs, vocab);
    if (k <= 0) return;
    std::vector<int32_t>& order = sequence.order;
    order.resize(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (int64_t i = 0; i < k; ++i) event.top.push_back({order[i], logprob(order[i])});
  }

  // The sequence's logits are in sequence.logits: sample the next token as CausalLM::generate does.
  void take_logits(Sequence& sequence) {
    const GenerationConfig& config = sequence.request.config;
    GenerationResult& result = sequence.result;
    if (static_cast<int64_t>(result.tokens.size()) >= config.max_new_tokens) return end(sequence, "max_tokens");
    TokenEvent event;
    const bool want_logprobs = sequence.request.top_logprobs >= 0;
    std::vector<float> raw;
    if (want_logprobs && config.sampling.repetition_penalty != 1.0f) raw = sequence.logits;  // the sampler edits them
    const int32_t token = sequence.sampler.sample(sequence.logits, sequence.context);
    if (want_logprobs) {
      if (!raw.empty()) sequence.logits.swap(raw);
      fill_logprobs(sequence, token, event);
    }
    if (result.tokens.empty()) sequence.first_token = Clock::now();
    result.tokens.push_back(token);
    sequence.context.push_back(token);
    if (std::find(sequence.stop_ids.begin(), sequence.stop_ids.end(), token) != sequence.stop_ids.end()) {
      return end(sequence, "stop_token");
    }
    event.token = token;
    event.text = sequence.stream.push(token);
    if (sequence.request.on_token && !sequence.request.on_token(event)) return end(sequence, "callback");
    if (sequence.stream.stopped()) return end(sequence, "stop_string");
    if (static_cast<int64_t>(result.tokens.size()) >= config.max_new_tokens) return end(sequence, "max_tokens");
    if (pool.cache(sequence.slot).length() + 1 > pool.max_context()) return end(sequence, "context_full");
    sequence.decoding = true;
    sequence.next_token = token;
  }

  const TextModel& model;
  const Tokenizer* tokenizer;
  std::vector<int32_t> default_stop_ids;
  KvCachePool pool;
  int64_t vocab, width;
  std::vector<float> hidden;  // [max_sequences, hidden] the step's output rows (one per sequence at most)
  std::vector<float> logits;  // [max_sequences, vocab]
  std::vector<BatchSegment> segments;
  std::vector<Sequence*> segment_owner;
  std::vector<Sequence*> outputs;  // sequences whose segment has an output row, in segment order
  std::vector<std::unique_ptr<Sequence>> running;  // in arrival order (prefill goes first come, first served)
  SequenceId next_id = 1;
  bool in_step = false;
};

int64_t kv_bytes_per_sequence(const Gemma4Config& config, int64_t max_context, int64_t prefill_chunk, KvType kv_type) {
  return KvCache::bytes_for(config, max_context, std::min(prefill_chunk, max_context), kv_type);
}

int64_t kv_bytes_per_position(const Gemma4Config& config, KvType kv_type, bool global_only) {
  return KvCache::bytes_per_position(config, kv_type, global_only);
}

int64_t default_parallel(const Gemma4Config& config, int64_t max_context, int64_t prefill_chunk, KvType kv_type) {
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  const double available = pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0;
  const double per_slot = static_cast<double>(std::max<int64_t>(kv_bytes_per_sequence(config, max_context, prefill_chunk, kv_type), 1));
  return std::clamp<int64_t>(static_cast<int64_t>(available / 4 / per_slot), 1, 8);
}

BatchGenerator::BatchGenerator(const CausalLM& lm, const BatchOptions& options) : options_(options) {
  if (options_.max_sequences <= 0) throw Error("a batch needs at least one sequence slot");
  if (options_.max_context <= 0) throw Error("max_context must be positive");
  if (options_.prefill_chunk <= 0) throw Error("prefill_chunk must be positive");
  if (lm.config().use_bidirectional_attention) {
    throw Error("this model uses bidirectional attention (an embedding model); it cannot generate text");
  }
  options_.prefill_chunk = std::min(options_.prefill_chunk, options_.max_context);
  if (options_.max_batch_tokens <= 0) options_.max_batch_tokens = options_.prefill_chunk + options_.max_sequences;
  // Every decoding sequence needs its row in each step, and one prompt chunk must fit beside them.
  options_.max_batch_tokens = std::max(options_.max_batch_tokens, options_.max_sequences);
  impl_ = std::make_unique<Impl>(lm, options_);
}

BatchGenerator::~BatchGenerator() = default;

BatchGenerator::SequenceId BatchGenerator::add(SequenceRequest request) {
  Impl& impl = *impl_;
  if (request.prompt.empty()) throw Error("the prompt is empty");
  if (request.config.max_new_tokens < 0) throw Error("max_new_tokens must be >= 0");
  for (const auto& stop : request.config.stop_strings) {
    if (stop.empty()) throw Error("stop strings must not be empty");
  }
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= impl.vocab) {
      throw Error("prompt token " + std::to_string(request.prompt[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(impl.vocab) + ")");
    }
  }
  if (static_cast<int64_t>(request.prompt.size()) > options_.max_context) {
    throw Error("the prompt has " + std::to_string(request.prompt.size()) + " tokens but the context holds " +
                std::to_string(options_.max_context));
  }
  if (impl.pool.free_slots() == 0) {
    throw Error("no free sequence slot (" + std::to_string(options_.max_sequences) + " running)");
  }
  auto sequence = std::make_unique<Impl::Sequence>(std::move(request), impl.tokenizer);  // validates sampling
  Impl::Sequence& s = *sequence;
  s.id = impl.next_id++;
  s.stop_ids = s.request.config.stop_token_ids.empty() ? impl.default_stop_ids : s.request.config.stop_token_ids;
  int64_t shared = 0;
  s.slot = impl.pool.acquire(s.request.prompt, &shared);
  s.fed = static_cast<size_t>(shared);
  s.result.prompt_tokens = static_cast<int64_t>(s.request.prompt.size()) - shared;
  s.context.reserve(static_cast<size_t>(options_.max_context));
  s.context = s.request.prompt;
  s.logits.assign(static_cast<size_t>(impl.vocab), 0.0f);
  s.added = Clock::now();
  impl.running.push_back(std::move(sequence));
  return s.id;
}

void BatchGenerator::cancel(SequenceId id, const std::string& reason) {
  Impl& impl = *impl_;
  for (auto& sequence : impl.running) {
    if (sequence->id != id || sequence->slot < 0) continue;
    if (impl.in_step) {
      sequence->cancel_reason = reason;  // a callback of this step: ended before the next
    } else {
      impl.end(*sequence, reason);
      impl.remove_ended();
    }
    return;
  }
}

bool BatchGenerator::step() {
  Impl& impl = *impl_;
  for (auto& sequence : impl.running) {
    if (!sequence->cancel_reason.empty()) impl.end(*sequence, sequence->cancel_reason);
  }
  impl.remove_ended();
  if (impl.running.empty()) return false;
  impl.in_step = true;

  // Rows: one per decoding sequence, then prompt chunks first come first served with the rows left.
  impl.segments.clear();
  impl.segment_owner.clear();
  int64_t budget = options_.max_batch_tokens;
  for (auto& sequence : impl.running) {
    if (!sequence->decoding) continue;
    BatchSegment segment;
    segment.input.token_ids = &sequence->next_token;
    segment.input.length = 1;
    segment.cache = &impl.pool.cache(sequence->slot);
    segment.output_rows = 1;
    impl.segments.push_back(segment);
    impl.segment_owner.push_back(sequence.get());
    --budget;
  }
  for (auto& sequence : impl.running) {
    if (sequence->decoding || budget <= 0) continue;
    const std::vector<int32_t>& prompt = sequence->request.prompt;
    const int64_t length = std::min<int64_t>({options_.prefill_chunk, budget, static_cast<int64_t>(prompt.size() - sequence->fed)});
    BatchSegment segment;
    segment.input.token_ids = prompt.data() + sequence->fed;
    segment.input.length = length;
    segment.cache = &impl.pool.cache(sequence->slot);
    segment.output_rows = sequence->fed + static_cast<size_t>(length) == prompt.size() ? 1 : 0;
    impl.segments.push_back(segment);
    impl.segment_owner.push_back(sequence.get());
    budget -= length;
  }

  try {
    impl.model.forward_batch(impl.segments.data(), static_cast<int64_t>(impl.segments.size()), impl.pool.activations(),
                             impl.hidden.data());
  } catch (...) {
    // The caches are in an unknown state: every running sequence ends, its slot forgetting what it held.
    for (auto& sequence : impl.running) {
      impl.pool.history(sequence->slot).clear();
      impl.pool.cache(sequence->slot).truncate(0);
      impl.end(*sequence, "error");
    }
    impl.remove_ended();
    impl.in_step = false;
    throw;
  }
  impl.outputs.clear();
  for (size_t i = 0; i < impl.segments.size(); ++i) {
    Impl::Sequence& sequence = *impl.segment_owner[i];
    const BatchSegment& segment = impl.segments[i];
    std::vector<int32_t>& history = impl.pool.history(sequence.slot);
    history.insert(history.end(), segment.input.token_ids, segment.input.token_ids + segment.input.length);
    if (!sequence.decoding) sequence.fed += static_cast<size_t>(segment.input.length);
    if (segment.output_rows > 0) impl.outputs.push_back(&sequence);
  }
  const int64_t rows = static_cast<int64_t>(impl.outputs.size());
  if (rows > 0) impl.model.logits(impl.hidden.data(), rows, impl.logits.data());
  for (int64_t r = 0; r < rows; ++r) {
    Impl::Sequence& sequence = *impl.outputs[r];
    std::copy_n(impl.logits.data() + r * impl.vocab, impl.vocab, sequence.logits.data());
    if (!sequence.cancel_reason.empty()) continue;  // cancelled by a callback of this step
    impl.take_logits(sequence);
  }
  impl.remove_ended();
  impl.in_step = false;
  return true;
}

int64_t BatchGenerator::running() const { return static_cast<int64_t>(impl_->running.size()); }

int64_t BatchGenerator::free_slots() const { return impl_->pool.free_slots(); }

BatchLoad BatchGenerator::load() const {
  BatchLoad load;
  load.sequences = running();
  load.slots = options_.max_sequences;
  for (const auto& sequence : impl_->running) load.kv_positions += impl_->pool.cache(sequence->slot).length();
  load.kv_capacity = options_.max_sequences * options_.max_context;
  load.kv_bytes = impl_->pool.bytes();
  return load;
}

}  // namespace gemma4
