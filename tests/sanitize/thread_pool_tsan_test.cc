// ThreadSanitizer check of core/thread_pool: workers write plain (non-atomic) memory and the caller reads it
// after parallel_for returns, so TSan sees a data race unless the pool's hand-off orders every worker's
// writes before the return; pools are made and destroyed while workers spin or sleep (shutdown), jobs run
// back to back with no pause (the spin path) and after sleeps (the condition-variable path), and the global
// pool is resized between jobs. Exit status 0 when every check holds; TSan itself fails the run on a race.
// Built and run by tests/sanitize/run_sanitizers.sh with -fsanitize=thread.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace {

int failures = 0;

void check(bool ok, const char* what, int64_t detail) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s (%lld)\n", what, static_cast<long long>(detail));
    ++failures;
  }
}

// Every index written by whichever thread owns it, then read back by the caller.
void fill_and_check(gemma4::ThreadPool& pool, int64_t count, int64_t chunks, int round) {
  std::vector<int64_t> values(static_cast<size_t>(count), -1);
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) values[static_cast<size_t>(i)] = i * 3 + round;
  };
  if (chunks == 0) {
    pool.parallel_for(count, body);
  } else {
    pool.parallel_for_balanced(count, chunks, body);
  }
  for (int64_t i = 0; i < count; ++i) {
    if (values[static_cast<size_t>(i)] != i * 3 + round) {
      check(false, "an index was not written exactly as expected", i);
      return;
    }
  }
}

}  // namespace

int main() {
  for (int threads : {1, 2, 4}) {
    gemma4::ThreadPool pool(threads);
    for (int round = 0; round < 200; ++round) {
      fill_and_check(pool, 1 + (round * 37) % 3000, round % 3 == 0 ? 0 : round % 5, round);
    }
    // Let the workers fall asleep, then wake them: the condition-variable path.
    for (int round = 0; round < 5; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      fill_and_check(pool, 1000, round % 2 == 0 ? 0 : 4, round);
    }
  }
  // Pools created and destroyed at once, with and without a job in between (shutdown while spinning).
  for (int round = 0; round < 50; ++round) {
    gemma4::ThreadPool pool(3);
    if (round % 2 == 0) fill_and_check(pool, 100, 0, round);
  }
  // A nested reduction: per-thread partial sums written to plain slots, summed by the caller.
  {
    gemma4::ThreadPool pool(4);
    for (int round = 0; round < 100; ++round) {
      std::vector<int64_t> partial(64, 0);
      const int64_t count = 64;
      pool.parallel_for(count, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) partial[static_cast<size_t>(i)] = i;
      });
      int64_t sum = 0;
      for (int64_t v : partial) sum += v;
      check(sum == 64 * 63 / 2, "partial sums", sum);
    }
  }
  // The global pool resized between jobs.
  for (int threads : {2, 1, 3}) {
    gemma4::ThreadPool::set_global_threads(threads);
    fill_and_check(gemma4::ThreadPool::global(), 513, 2, threads);
  }
  if (failures == 0) std::printf("thread pool under ThreadSanitizer: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
