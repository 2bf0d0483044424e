// The engine thread of gemma4 serve (gemma4/serve_scheduler.h): admit queued sequences into free slots, run
// exclusive work, end cancelled and timed-out sequences, step the batch, publish the load; sleep when idle.
#include <gemma4/serve_scheduler.h>

#include <algorithm>
#include <cstdio>
#include <exception>

namespace gemma4::serve {

using Clock = std::chrono::steady_clock;

bool Ticket::take(std::vector<TicketEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !events_.empty() || pending_ == 0; });
  while (!events_.empty()) {
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return pending_ > 0 || !out.empty();
}

void Ticket::cancel(int choice, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancels_.emplace_back(choice, reason);
}

std::string Ticket::cancel_reason(int choice) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [which, reason] : cancels_) {
    if (which == choice || which == -1) return reason;
  }
  return {};
}

void Ticket::push(TicketEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event.done) --pending_;
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

Scheduler::Scheduler(const CausalLM& lm, const SchedulerOptions& options, ServerMetrics* metrics)
    : options_(options),
      metrics_(metrics),
      batch_(lm, BatchOptions{options.parallel, options.context, options.prefill_chunk, 0, options.kv_type}) {
  if (options_.queue_limit < 0) throw Error("the request queue limit must be >= 0");
  batch_load_ = batch_.load();
  publish_load();
  engine_ = std::thread([this] { engine_loop(); });
}

Scheduler::~Scheduler() {
  shutdown();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
  engine_.join();
}

std::shared_ptr<Ticket> Scheduler::submit(const std::vector<int32_t>& prompt, const GenerationConfig& config,
                                          int top_logprobs, int choices) {
  if (choices < 1) throw ApiError(400, "'n' must be at least 1", "n", "invalid_value");
  auto ticket = std::make_shared<Ticket>(choices);
  const Clock::time_point deadline =
      options_.timeout_seconds > 0
          ? Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_seconds))
          : Clock::time_point::max();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
    const int64_t in_system = busy_ + static_cast<int64_t>(queue_.size());
    if (in_system + choices > options_.parallel + options_.queue_limit) {
      throw Overloaded("the server is busy: " + std::to_string(busy_) + " of " + std::to_string(options_.parallel) +
                           " slots generating and " + std::to_string(queue_.size()) + " requests queued (limit " +
                           std::to_string(options_.queue_limit) + "); retry shortly",
                       1);
    }
    for (int c = 0; c < choices; ++c) {
      GenerationConfig each = config;
      each.sampling.seed += static_cast<uint64_t>(c);  // n > 1: different draws, reproducible from the seed
      queue_.push_back({ticket, c, prompt, std::move(each), top_logprobs, deadline});
    }
  }
  wake_.notify_all();
  return ticket;
}

void Scheduler::run_exclusive(const std::function<void()>& work) {
  std::exception_ptr failure;
  bool done = false;
  std::condition_variable finished;
  std::function<void()> task = [&] {
    try {
      work();
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done = true;
    finished.notify_all();
  };
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopped_) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
    exclusive_.push_back(&task);
    wake_.notify_all();
    finished.wait(lock, [&] { return done; });
  }
  if (failure) std::rethrow_exception(failure);
}

void Scheduler::shutdown() {
  std::deque<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  for (Pending& pending : dropped) {
    GenerationResult result;
    result.stop_reason = "shutdown";
    pending.ticket->push({pending.choice, {}, result});
  }
  wake_.notify_all();
  // The engine ends the running sequences at its next step; wait until they have.
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [&] { return busy_ == 0 || stopped_; });
}

ServerLoad Scheduler::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ServerLoad load;
  load.slots_busy = busy_;
  load.slots_total = options_.parallel;
  load.queued = static_cast<int64_t>(queue_.size());
  load.queue_limit = options_.queue_limit;
  load.kv_tokens = batch_load_.kv_positions;
  load.kv_capacity = batch_load_.kv_capacity;
  load.kv_bytes = batch_load_.kv_bytes;
  return load;
}

void Scheduler::publish_load() {
  if (metrics_) metrics_->set_load(load());
}

void Scheduler::admit(Pending pending) {
  SequenceRequest request;
  request.prompt = std::move(pending.prompt);
  request.config = std::move(pending.config);
  request.top_logprobs = pending.top_logprobs;
  std::shared_ptr<Ticket> ticket = pending.ticket;
  const int choice = pending.choice;
  request.on_token = [ticket, choice](const TokenEvent& event) {
    ticket->push({choice, event, std::nullopt});
    return true;  // cancellations are read between steps
  };
  request.on_done = [this, ticket, choice](const GenerationResult& result) {
    ticket->push({choice, {}, result});
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [&](const Running& r) { return r.ticket == ticket && r.choice == choice; }),
                   running_.end());
  };
  try {
    const BatchGenerator::SequenceId id = batch_.add(std::move(request));
    running_.push_back({id, ticket, choice, pending.deadline});
  } catch (const std::exception& e) {
    GenerationResult result;
    result.stop_reason = std::string("error: ") + e.what();
    ticket->push({choice, {}, result});
  }
}

void Scheduler::engine_loop() {
  for (;;) {
    std::vector<Pending> admitted;
    std::vector<std::function<void()>*> exclusive;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      busy_ = static_cast<int64_t>(running_.size());
      batch_load_ = batch_.load();
      wake_.notify_all();  // shutdown() waits for busy_ == 0
      wake_.wait(lock, [&] {
        return stopped_ || !running_.empty() || !exclusive_.empty() ||
               (!queue_.empty() && batch_.free_slots() > 0);
      });
      if (stopped_ && running_.empty() && exclusive_.empty()) return;
      exclusive.assign(exclusive_.begin(), exclusive_.end());
      exclusive_.clear();
      while (!queue_.empty() && static_cast<int64_t>(admitted.size()) < batch_.free_slots()) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stopping_;
    }
    for (auto* work : exclusive) (*work)();
    for (Pending& pending : admitted) {
      if (const std::string reason = pending.ticket->cancel_reason(pending.choice); !reason.empty()) {
        GenerationResult result;
        result.stop_reason = reason;
        pending.ticket->push({pending.choice, {}, result});
        continue;
      }
      admit(std::move(pending));
    }
    // Cancelled (client gone), timed out, or shutting down: out of the batch before this step.
    const Clock::time_point now = Clock::now();
    const std::vector<Running> snapshot = running_;
    for (const Running& r : snapshot) {
      std::string reason = r.ticket->cancel_reason(r.choice);
      if (reason.empty() && now >= r.deadline) reason = "timeout";
      if (reason.empty() && stopping) reason = "shutdown";
      if (!reason.empty()) batch_.cancel(r.id, reason);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = static_cast<int64_t>(running_.size());
    }
    try {
      batch_.step();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gemma4 serve: a batch step failed: %s\n", e.what());
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = static_cast<int64_t>(running_.size());
      batch_load_ = batch_.load();
    }
    publish_load();
  }
}

}  // namespace gemma4::serve
