// The machine's float32 fused multiply-add peak, the yardstick of the float GEMM (bench/README.md): every
// thread runs 24 independent chains of AVX-512 FMAs (enough to cover latency x ports) for a fixed count.
//   g++ -O2 -mavx512f -pthread bench/fma_peak.cc -o /tmp/fma_peak && /tmp/fma_peak [THREADS]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

static float run(long iterations) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]));
  }
  float sum = 0;
  for (int i = 0; i < 24; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const long iterations = 100000000;
  std::vector<std::thread> pool;
  std::vector<float> sink(threads);
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t] = run(iterations); });
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops = 2.0 * 16 * 24 * static_cast<double>(iterations) * threads;
  std::printf("%d threads: %.1f GFLOP/s (float32 FMA, AVX-512) [%g]\n", threads, flops / seconds / 1e9, sink[0]);
}
