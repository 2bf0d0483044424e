// A small fixed pool of worker threads for data-parallel loops.
//
// A model step issues hundreds of short parallel loops per token, so waking workers through a
// condition variable each time (tens of microseconds) would cost more than some loops themselves.
// Workers therefore spin on an atomic job counter for a while after each job and only then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace gemma4 {

// A non-owning reference to a callable fn(begin, end), valid while the call it is passed to runs.
// Parallel loops take one instead of a std::function, which heap-allocates for any lambda capturing
// more than two pointers: a decode step runs hundreds of loops and should allocate nothing.
class RangeFunction {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFunction>>>
  RangeFunction(const F& fn)  // NOLINT(google-explicit-constructor): lambdas convert implicitly
      : object_(&fn), call_([](const void* object, int64_t begin, int64_t end) {
          (*static_cast<const F*>(object))(begin, end);
        }) {}
  void operator()(int64_t begin, int64_t end) const { call_(object_, begin, end); }

 private:
  const void* object_;
  void (*call_)(const void*, int64_t, int64_t);
};

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, count) split into one contiguous range per thread (the caller's
  // thread takes the first one). Returns when every range is done. Not reentrant.
  void parallel_for(int64_t count, RangeFunction fn);

  // The same range cut into about `chunks_per_thread` pieces per thread that the threads claim one by
  // one, so a thread slowed down (by the OS or a neighbour on a shared host) leaves its share to the
  // others instead of making them wait. For uniform, memory-bound loops (matrix-vector products);
  // fn may be called several times per thread.
  void parallel_for_balanced(int64_t count, int64_t chunks_per_thread, RangeFunction fn);

  // The range thread `index` of `threads` gets in parallel_for.
  static void split(int64_t count, int threads, int index, int64_t* begin, int64_t* end);

  // The process-wide pool; its size is set by set_global_threads (default: hardware threads).
  static ThreadPool& global();
  static void set_global_threads(int num_threads);

 private:
  void worker_loop(int index);
  void run_share(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  const RangeFunction* job_ = nullptr;
  int64_t job_count_ = 0;
  int64_t job_chunk_ = 0;              // 0: one static range per thread; else claimed chunks of this size
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace gemma4
