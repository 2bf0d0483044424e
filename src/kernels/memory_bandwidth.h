// Measures this machine's memory read bandwidth the way a decode step reads weights: every thread of
// the pool streams its own contiguous part of a buffer much larger than the caches.
#pragma once

#include <cstddef>

namespace gemma4 {
class ThreadPool;
}

namespace gemma4::kernels {

// Best of `repeats` full reads of a `bytes` buffer, in bytes per second.
double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t(1) << 30, int repeats = 5);

}  // namespace gemma4::kernels
