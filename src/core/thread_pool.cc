#include "core/thread_pool.h"

#include <memory>

namespace gemma4 {
namespace {

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
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  const int threads = num_threads();
  if (threads == 1 || count == 1) {
    fn(0, count);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_count_ = count;
    pending_ = threads - 1;
    ++generation_;
  }
  work_ready_.notify_all();
  const int64_t end = count / threads + (count % threads > 0 ? 1 : 0);
  fn(0, end);
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int64_t)>* job;
    int64_t count;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      count = job_count_;
    }
    const int64_t threads = num_threads();
    const int64_t base = count / threads;
    const int64_t extra = count % threads;
    const int64_t begin = index * base + (index < extra ? index : extra);
    const int64_t end = begin + base + (index < extra ? 1 : 0);
    if (begin < end) (*job)(begin, end);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) work_done_.notify_one();
    }
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
  global_pool_slot() = std::make_unique<ThreadPool>(num_threads);
}

}  // namespace gemma4
