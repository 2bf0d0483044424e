// The thread pool: every index of a parallel loop is visited exactly once, with static ranges and with
// claimed chunks, for counts below, at and far above the thread count.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

namespace gemma4 {
namespace {

void expect_each_index_once(ThreadPool& pool, int64_t count, int64_t chunks_per_thread) {
  std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
  for (auto& v : visits) v.store(0);
  auto body = [&](int64_t begin, int64_t end) {
    ASSERT_LE(0, begin);
    ASSERT_LT(begin, end);
    ASSERT_LE(end, count);
    for (int64_t i = begin; i < end; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
  };
  if (chunks_per_thread == 0) {
    pool.parallel_for(count, body);
  } else {
    pool.parallel_for_balanced(count, chunks_per_thread, body);
  }
  for (int64_t i = 0; i < count; ++i) {
    ASSERT_EQ(visits[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << count;
  }
}

TEST(ThreadPool, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 2, 3, 7, 16, 17, 1000, 4099}) {
      for (int64_t chunks : {0, 1, 8}) {
        for (int repeat = 0; repeat < 3; ++repeat) expect_each_index_once(pool, count, chunks);
      }
    }
  }
}

}  // namespace
}  // namespace gemma4
