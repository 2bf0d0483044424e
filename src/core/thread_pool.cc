#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <memory>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GEMMA4_CPU_RELAX() _mm_pause()
#else
#define GEMMA4_CPU_RELAX() std::this_thread::yield()
#endif

namespace gemma4 {
namespace {

// How long an idle worker keeps spinning before it sleeps: long enough to bridge the gaps between
// the parallel loops of one token, short enough not to burn a core between requests.
constexpr auto kSpinTime = std::chrono::milliseconds(2);

std::unique_ptr<ThreadPool>& global_pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) num_threads = 1;
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::split(int64_t count, int threads, int index, int64_t* begin, int64_t* end) {
  const int64_t base = count / threads;
  const int64_t extra = count % threads;
  *begin = index * base + (index < extra ? index : extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

void ThreadPool::parallel_for(int64_t count, RangeFunction fn) {
  parallel_for_balanced(count, 0, fn);
}

void ThreadPool::parallel_for_balanced(int64_t count, int64_t chunks_per_thread, RangeFunction fn) {
  if (count <= 0) return;
  const int threads = num_threads();
  if (threads == 1 || count == 1) {
    fn(0, count);
    return;
  }
  job_ = &fn;
  job_count_ = count;
  job_chunk_ = chunks_per_thread > 0 ? std::max<int64_t>(1, count / (threads * chunks_per_thread)) : 0;
  next_chunk_.store(0, std::memory_order_relaxed);
  pending_.store(threads - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes job_, job_count_, job_chunk_
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    work_ready_.notify_all();
  }
  run_share(0);
  // Spin briefly, then yield: with more runnable threads than cores a pure spin would hold the core
  // the last worker needs.
  for (int polls = 0; pending_.load(std::memory_order_acquire) != 0; ++polls) {
    if (polls < 4096) {
      GEMMA4_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
}

// Thread `index`'s part of the current job: its static range, or chunks claimed until none is left.
void ThreadPool::run_share(int index) {
  const auto& fn = *job_;
  if (job_chunk_ == 0) {
    int64_t begin, end;
    split(job_count_, num_threads(), index, &begin, &end);
    if (begin < end) fn(begin, end);
    return;
  }
  for (;;) {
    const int64_t begin = next_chunk_.fetch_add(1, std::memory_order_relaxed) * job_chunk_;
    if (begin >= job_count_) return;
    fn(begin, std::min(job_count_, begin + job_chunk_));
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for new work, then sleep until notified.
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stopping_.load(std::memory_order_relaxed)) {
      if (++polls < 4096) {
        GEMMA4_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
      if (polls % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        work_ready_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
    }
    if (stopping_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    run_share(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

ThreadPool& ThreadPool::global() {
  auto& slot = global_pool_slot();
  if (!slot) {
    unsigned hardware = std::thread::hardware_concurrency();
    slot = std::make_unique<ThreadPool>(hardware == 0 ? 1 : static_cast<int>(hardware));
  }
  return *slot;
}

void ThreadPool::set_global_threads(int num_threads) {
  global_pool_slot().reset();
  global_pool_slot() = std::make_unique<ThreadPool>(num_threads);
}

}  // namespace gemma4
