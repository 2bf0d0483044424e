// gemma4 serve's continuous batching: one engine thread runs a BatchGenerator (gemma4/batch.h) and the HTTP
// threads hand it requests. A request waits in a bounded queue until a KV slot is free and joins the running
// batch between steps; its prompt runs in chunks beside the others' decode rows. Beyond the slots and the
// queue, submit() refuses with 429 and a Retry-After. A client that goes away cancels its request, which
// leaves the batch at the next step; a server-wide timeout ends requests that run too long (stop_reason
// "timeout"). Work that needs the whole model (embeddings, prompts with images or audio through
// CausalLM::generate) runs on the engine thread between steps through run_exclusive().
#pragma once

#include <gemma4/batch.h>
#include <gemma4/causal_lm.h>
#include <gemma4/openai.h>
#include <gemma4/serve_metrics.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gemma4::serve {

// 429: every slot busy and the queue full. The HTTP layer sends Retry-After: retry_after_seconds.
class Overloaded : public ApiError {
 public:
  Overloaded(const std::string& message, int retry_after_seconds)
      : ApiError(429, message, "", "server_overloaded"), retry_after_seconds_(retry_after_seconds) {}
  int retry_after_seconds() const { return retry_after_seconds_; }

 private:
  int retry_after_seconds_;
};

struct SchedulerOptions {
  int64_t parallel = 4;          // KV slots: sequences generating at once
  int64_t queue_limit = 16;      // sequences waiting for a slot beyond those; more get 429
  int64_t context = 4096;        // positions per slot
  int64_t prefill_chunk = 128;   // prompt tokens one sequence runs per step
  double timeout_seconds = 0;    // > 0: a request still running after this long is ended ("timeout")
  KvType kv_type = KvType::kBf16;  // how the slots store keys and values
};

// What the HTTP thread of one request receives: each choice's token events, then its result.
struct TicketEvent {
  int choice = 0;
  TokenEvent token;
  std::optional<GenerationResult> done;  // set once per choice, after its last token
};

class Ticket {
 public:
  explicit Ticket(int choices) : choices_(choices), pending_(choices) {}
  // Waits up to `timeout` for events and appends them to `out`. Returns false once every choice has ended and
  // all its events were taken.
  bool take(std::vector<TicketEvent>& out, std::chrono::milliseconds timeout);
  // The client is gone or wants no more of `choice` (-1: all): the engine ends it before its next step.
  void cancel(int choice, const std::string& reason);
  int choices() const { return choices_; }

 private:
  friend class Scheduler;
  void push(TicketEvent event);
  // The reason choice `choice` was cancelled (empty: it was not).
  std::string cancel_reason(int choice);

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TicketEvent> events_;
  int choices_;
  int pending_;  // choices not yet done
  std::vector<std::pair<int, std::string>> cancels_;
};

class Scheduler {
 public:
  // `lm` must outlive the scheduler; `metrics` (optional) gets the load gauges after every step.
  Scheduler(const CausalLM& lm, const SchedulerOptions& options, ServerMetrics* metrics = nullptr);
  ~Scheduler();  // cancels whatever runs, joins the engine thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `choices` sequences of one request (each choice i samples with seed + i). Throws Overloaded when
  // they do not fit beside the running and queued ones, ApiError 503 once shutdown() began.
  std::shared_ptr<Ticket> submit(const std::vector<int32_t>& prompt, const GenerationConfig& config, int top_logprobs,
                                 int choices = 1);
  // Runs `work` on the engine thread between two steps (the batch waits) and returns when it has run;
  // rethrows what it throws.
  void run_exclusive(const std::function<void()>& work);
  // Stops taking requests (503); queued ones end at once and running ones at their next step, with
  // stop_reason "shutdown"; returns when the batch is empty.
  void shutdown();

  ServerLoad load() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  struct Pending {
    std::shared_ptr<Ticket> ticket;
    int choice;
    std::vector<int32_t> prompt;
    GenerationConfig config;
    int top_logprobs;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Running {
    BatchGenerator::SequenceId id;
    std::shared_ptr<Ticket> ticket;
    int choice;
    std::chrono::steady_clock::time_point deadline;
  };
  void engine_loop();
  void admit(Pending pending);
  void publish_load();

  SchedulerOptions options_;
  ServerMetrics* metrics_;
  BatchGenerator batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::deque<std::function<void()>*> exclusive_;
  std::vector<Running> running_;  // engine thread only
  int64_t busy_ = 0;              // running_.size(), readable under mutex_
  BatchLoad batch_load_;          // as of the last step, under mutex_
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread engine_;
};

}  // namespace gemma4::serve
