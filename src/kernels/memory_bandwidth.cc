#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/memory_bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"

namespace gemma4::kernels {
namespace {

// Four independent accumulators and software prefetch: a single dependent chain or no prefetch
// under-reports the bandwidth by a third on Zen 4.
__attribute__((target("avx512f"))) float sum_avx512(const float* data, size_t count) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(data + i + 1024), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(data + i + 1024 + 32), _MM_HINT_T0);
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(data + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(data + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(data + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(data + i + 48));
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < count; ++i) sum += data[i];
  return sum;
}

// Eight independent accumulators: with fewer, an AVX2 core under-reports the bandwidth (measured on a
// Zen 3, two threads: ~30 GB/s against ~24 GB/s for the compiler's vectorisation of sum_portable).
__attribute__((target("avx2"))) float sum_avx2(const float* data, size_t count) {
  __m256 a[8];
  for (auto& v : a) v = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    for (int j = 0; j < 8; ++j) a[j] = _mm256_add_ps(a[j], _mm256_loadu_ps(data + i + 8 * j));
  }
  for (int j = 1; j < 8; ++j) a[0] = _mm256_add_ps(a[0], a[j]);
  float lanes[8];
  _mm256_storeu_ps(lanes, a[0]);
  float sum = 0;
  for (float lane : lanes) sum += lane;
  for (; i < count; ++i) sum += data[i];
  return sum;
}

float sum_portable(const float* data, size_t count) {
  float partial[16] = {};
  size_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int lane = 0; lane < 16; ++lane) partial[lane] += data[i + lane];
  float sum = 0;
  for (; i < count; ++i) sum += data[i];
  for (float p : partial) sum += p;
  return sum;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int repeats) {
  const size_t count = bytes / sizeof(float);
  std::unique_ptr<float[]> buffer(new float[count]);
  // Touch every page from the threads that will read it.
  pool.parallel_for(static_cast<int64_t>(count), [&](int64_t begin, int64_t end) {
    std::fill(buffer.get() + begin, buffer.get() + end, 1.0f);
  });
  const CpuFeatures& cpu = cpu_features();
  auto sum = [&](const float* data, size_t n) {
    return cpu.avx512 ? sum_avx512(data, n) : cpu.avx2 ? sum_avx2(data, n) : sum_portable(data, n);
  };
  volatile float sink = 0;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(pool.num_threads(), [&](int64_t begin, int64_t end) {
      for (int64_t part = begin; part < end; ++part) {
        const size_t first = count * static_cast<size_t>(part) / pool.num_threads();
        const size_t last = count * static_cast<size_t>(part + 1) / pool.num_threads();
        sink = sink + sum(buffer.get() + first, last - first);
      }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(count * sizeof(float)) / seconds);
  }
  return best;
}

}  // namespace gemma4::kernels
