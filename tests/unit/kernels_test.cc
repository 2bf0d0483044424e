// Every fast matmul path against the plain reference twin (matmul_reference: rows decoded to float32,
// dot products in double), over odd sizes and tails. Tolerances are derived from what each path rounds:
//  - BF16 weights (vdpbf16ps): activations rounded to bf16, products exact, float32 sums;
//  - Q8_0/Q4_0 for few rows (VNNI): activations quantized to int8 per block of 32 (error <= scale/2);
//  - quantized weights for many rows: weights and activations both rounded to bf16;
//  - the AVX2 prompt path (any weight type, many rows): float32 products, sums of chains <= 256 + K/256 long.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/quantize.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/matmul_simd.h"
#include "kernels/ops.h"

namespace gemma4 {
namespace {

std::vector<float> random_values(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(engine);
  return out;
}

struct Matrix {
  std::vector<uint8_t> bytes;
  TensorView view;
  std::vector<float> decoded;  // the weights as float32, row by row
};

Matrix make_matrix(DType type, int64_t rows, int64_t cols, uint64_t seed) {
  Matrix m;
  const auto values = random_values(static_cast<size_t>(rows * cols), seed, 0.05f);
  m.bytes = encode_matrix(type, values.data(), rows, cols);
  m.view.dtype = type;
  m.view.shape = {rows, cols};
  m.view.data = m.bytes.data();
  m.view.nbytes = m.bytes.size();
  m.decoded.resize(values.size());
  for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(m.view, r, m.decoded.data() + r * cols);
  return m;
}

// sum_i |x_i w_i| for each (token, output): the scale of every rounding bound below.
std::vector<double> magnitudes(const std::vector<float>& x, int64_t n, const Matrix& m) {
  const int64_t rows = m.view.rows(), cols = m.view.cols();
  std::vector<double> out(static_cast<size_t>(n * rows));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < rows; ++o) {
      double sum = 0;
      for (int64_t i = 0; i < cols; ++i) sum += std::fabs(double(x[t * cols + i]) * m.decoded[o * cols + i]);
      out[t * rows + o] = sum;
    }
  return out;
}

// Bound of the int8 activation quantization: each block's values move by at most amax/254.
std::vector<double> int8_activation_bound(const std::vector<float>& x, int64_t n, const Matrix& m) {
  const int64_t rows = m.view.rows(), cols = m.view.cols();
  std::vector<double> out(static_cast<size_t>(n * rows), 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < cols / 32; ++b) {
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[t * cols + b * 32 + i]));
      const double step = amax / 254.0;
      for (int64_t o = 0; o < rows; ++o) {
        double wsum = 0;
        for (int i = 0; i < 32; ++i) wsum += std::fabs(m.decoded[o * cols + b * 32 + i]);
        out[t * rows + o] += step * wsum;
      }
    }
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::vector<double>& bound,
                  const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(double(got[i]) - want[i]) <= bound[i]) && reported++ < 5) {
      ADD_FAILURE() << what << ": element " << i << " got " << got[i] << " want " << want[i] << " bound "
                    << bound[i];
    }
  }
}

struct Case {
  int64_t n, rows, cols;
};

// n = 1 (decode), a few rows (VNNI / tiles with token tails), many rows (prompt path); rows not a multiple
// of the 4-row tile; cols with and without a tail of 32.
const Case kCases[] = {{1, 1, 32}, {1, 13, 64}, {3, 7, 96}, {5, 37, 160}, {7, 9, 1536 / 8}, {8, 5, 32},
                       {13, 17, 256}, {20, 33, 96}, {1, 260, 512}};

class KernelsTest : public ::testing::Test {
 protected:
  void TearDown() override { kernels::force_portable_kernels(false); }

  // Runs matmul on `pool` and the reference; returns both plus the magnitudes.
  void run(DType type, const Case& c, uint64_t seed, ThreadPool& pool, std::vector<float>& got,
           std::vector<float>& want, std::vector<double>& scale, std::vector<double>* int8_bound = nullptr) {
    matrix_ = make_matrix(type, c.rows, c.cols, seed);
    x_ = random_values(static_cast<size_t>(c.n * c.cols), seed + 100);
    got.assign(static_cast<size_t>(c.n * c.rows), NAN);
    want.assign(got.size(), NAN);
    kernels::matmul(x_.data(), c.n, matrix_.view, got.data(), &pool);
    kernels::matmul_reference(x_.data(), c.n, matrix_.view, want.data());
    scale = magnitudes(x_, c.n, matrix_);
    if (int8_bound) *int8_bound = int8_activation_bound(x_, c.n, matrix_);
  }

  Matrix matrix_;
  std::vector<float> x_;
};

TEST_F(KernelsTest, PortablePathMatchesReference) {
  kernels::force_portable_kernels(true);
  ThreadPool pool(2);
  for (DType type : {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0}) {
    for (const Case& c : kCases) {
      std::vector<float> got, want;
      std::vector<double> scale;
      run(type, c, 7, pool, got, want, scale);
      for (auto& s : scale) s = 1e-6 * s + 1e-7;  // float32 sums of up to 1536 terms
      expect_close(got, want, scale, dtype_name(type));
    }
  }
}

TEST_F(KernelsTest, Bf16Avx512MatchesReference) {
  if (!kernels::cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  kernels::force_bf16_activations(true);  // opt-in path (GEMMA4_BF16_ACTIVATIONS=1)
  struct Restore {
    ~Restore() { kernels::force_bf16_activations(false); }
  } restore;
  ThreadPool pool(2);
  const Case extra[] = {{1, 5, 17}, {6, 9, 50}, {9, 4, 33}};  // bf16 rows need not be whole blocks
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.insert(cases.end(), std::begin(extra), std::end(extra));
  for (const Case& c : cases) {
    std::vector<float> got, want;
    std::vector<double> scale;
    run(DType::BF16, c, 11, pool, got, want, scale);
    // x rounded to bf16: each product moves by <= 2^-9 of itself; plus float32 summation.
    for (auto& s : scale) s = (std::ldexp(1.0, -9) + 1e-6) * s + 1e-7;
    expect_close(got, want, scale, "bf16");
  }
}

TEST_F(KernelsTest, Avx2Float32PathsMatchReference) {
  const auto& cpu = kernels::cpu_features();
  if (!cpu.avx2 || cpu.bf16_activations) GTEST_SKIP() << "the AVX2 float32 paths are not the ones chosen on this CPU";
  ThreadPool pool(2);
  const Case extra[] = {{1, 5, 17}, {6, 9, 50}, {9, 4, 33}};  // rows that are not whole vectors
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.insert(cases.end(), std::begin(extra), std::end(extra));
  for (DType type : {DType::F32, DType::BF16, DType::F16}) {
    for (const Case& c : cases) {
      if (type == DType::F16 && c.cols % 32 != 0) continue;
      std::vector<float> got, want;
      std::vector<double> scale;
      run(type, c, 23, pool, got, want, scale);
      for (auto& s : scale) s = 1e-6 * s + 1e-7;  // float32 products and sums only
      expect_close(got, want, scale, dtype_name(type));
    }
  }
  // Quantized weights for prompts go through the int8 GEMM (matmul_gemm.h): activation rounding plus float32.
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    for (const Case& c : kCases) {
      if (c.n < 8) continue;
      std::vector<float> got, want;
      std::vector<double> scale, int8_bound;
      run(type, c, 29, pool, got, want, scale, &int8_bound);
      for (size_t i = 0; i < scale.size(); ++i) scale[i] = int8_bound[i] + 1e-6 * scale[i] + 1e-7;
      expect_close(got, want, scale, dtype_name(type));
    }
  }
}

// Q4_K / Q6_K matrices of random bytes (no encoder here) with small, finite f16 scales, so the packed
// path's per-chunk block offsets are checked against dequantize_row for the k-quant layouts too.
Matrix make_raw_kquant_matrix(DType type, int64_t rows, int64_t cols, uint64_t seed) {
  Matrix m;
  m.view.dtype = type;
  m.view.shape = {rows, cols};
  const size_t row_bytes = dtype_row_bytes(type, cols);
  m.bytes.resize(row_bytes * static_cast<size_t>(rows));
  std::mt19937_64 engine(seed);
  for (auto& b : m.bytes) b = static_cast<uint8_t>(engine());
  const size_t block_bytes = type == DType::Q4_K ? 144 : 210;
  const size_t scale_offsets[2] = {type == DType::Q4_K ? size_t{0} : size_t{208}, size_t{2}};
  for (size_t block = 0; block < m.bytes.size() / block_bytes; ++block) {
    for (int f = 0; f < (type == DType::Q4_K ? 2 : 1); ++f) {
      uint8_t* p = m.bytes.data() + block * block_bytes + scale_offsets[f];
      const uint16_t half = static_cast<uint16_t>(0x1c00 + engine() % 0x400);  // f16 in [2^-8, 2^-7)
      p[0] = static_cast<uint8_t>(half & 0xff);
      p[1] = static_cast<uint8_t>(half >> 8);
    }
  }
  m.view.data = m.bytes.data();
  m.view.nbytes = m.bytes.size();
  m.decoded.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(m.view, r, m.decoded.data() + r * cols);
  return m;
}

// The AVX2 prompt path (n >= 8): panels of 16 rows, chunks of 256 columns, tiles of 6 tokens, token blocks
// of at most 192. Cases cross each of those edges (rows 16k +- 1, cols 256 + tail, n = 6k + 1, n > 192).
// Every product is float32-exact (the weights decoded exactly as the reference decodes them), and each
// output is one fused multiply-add chain over <= 256 columns plus one add per further chunk, so the error is
// at most (chain length) * 2^-24 * sum |x w| (Higham's bound for recursive summation).
// The kernel is called directly (matmul dispatches to it only for some types and n), for every type.
TEST_F(KernelsTest, Avx2PackedPromptPathMatchesReference) {
  if (!kernels::cpu_features().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  ThreadPool pool(2);
  const Case cases[] = {{1, 3, 32},    {8, 5, 32}, {13, 17, 256}, {19, 15, 288}, {40, 33, 544},
                        {200, 19, 64}, {25, 1, 96}, {9, 4, 33},    {10, 18, 263}};  // last two: F32/BF16/F16 only
  const DType types[] = {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};
  for (DType type : types) {
    for (const Case& c : cases) {
      const bool kquant = type == DType::Q4_K || type == DType::Q6_K;
      if (kquant && c.cols % 256 != 0) continue;
      const bool blocks = type == DType::Q8_0 || type == DType::Q4_0 || type == DType::F16;
      if (blocks && c.cols % 32 != 0) continue;
      matrix_ = kquant ? make_raw_kquant_matrix(type, c.rows, c.cols, 41) : make_matrix(type, c.rows, c.cols, 37);
      x_ = random_values(static_cast<size_t>(c.n * c.cols), 43);
      std::vector<float> got(static_cast<size_t>(c.n * c.rows), NAN), want(got.size(), NAN);
      kernels::simd::matmul_packed_avx2(x_.data(), c.n, matrix_.view, got.data(), pool);
      kernels::matmul_reference(x_.data(), c.n, matrix_.view, want.data());
      std::vector<double> scale = magnitudes(x_, c.n, matrix_);
      const double chain = double(std::min<int64_t>(c.cols, 256) + (c.cols + 255) / 256);
      for (auto& s : scale) s = chain * std::ldexp(1.0, -24) * 1.01 * s + 1e-30;
      expect_close(got, want, scale, dtype_name(type));
    }
  }
}

TEST_F(KernelsTest, QuantizedFewRowsMatchReferenceWithinActivationRounding) {
  const auto& cpu = kernels::cpu_features();
  if (!cpu.avx512_vnni && !cpu.avx2) GTEST_SKIP() << "this CPU has neither AVX-512 VNNI nor AVX2";
  ThreadPool pool(2);
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    for (const Case& c : kCases) {
      if (c.n >= 8) continue;  // the int8 path serves fewer than 8 rows
      std::vector<float> got, want;
      std::vector<double> scale, bound;
      run(type, c, 13, pool, got, want, scale, &bound);
      for (size_t i = 0; i < bound.size(); ++i) bound[i] = bound[i] * 1.001 + 1e-6 * scale[i] + 1e-7;
      expect_close(got, want, bound, dtype_name(type));
      // The bound is not vacuous: it stays well below the size of the outputs.
      double bound_sum = 0, scale_sum = 0;
      for (size_t i = 0; i < bound.size(); ++i) bound_sum += bound[i], scale_sum += scale[i];
      EXPECT_LT(bound_sum, 0.05 * scale_sum);
    }
  }
}

// The AVX2 int8 decode kernel called directly (matmul picks VNNI instead where the CPU has it): n = 1, 2, 7;
// odd numbers of 32-column blocks (the two-block loop's tail); row counts below and above the size where
// rows are split across threads. Same bound as above: int8 activation rounding plus float32 sums.
TEST_F(KernelsTest, Avx2Int8FewRowsPathMatchesReferenceWithinActivationRounding) {
  if (!kernels::cpu_features().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  ThreadPool pool(2);
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t n : {1, 2, 7}) {
      for (int64_t cols : {32, 96, 224, 1440}) {
        for (int64_t rows : {1, 5, 64, 257}) {
          SCOPED_TRACE("n " + std::to_string(n) + ", rows " + std::to_string(rows) + ", cols " + std::to_string(cols));
          matrix_ = make_matrix(type, rows, cols, 53 + rows);
          x_ = random_values(static_cast<size_t>(n * cols), 59 + cols);
          std::vector<float> got(static_cast<size_t>(n * rows), NAN), want(got.size(), NAN);
          kernels::simd::matmul_q8_q4_avx2(x_.data(), n, matrix_.view, got.data(), pool);
          kernels::matmul_reference(x_.data(), n, matrix_.view, want.data());
          const std::vector<double> scale = magnitudes(x_, n, matrix_);
          std::vector<double> bound = int8_activation_bound(x_, n, matrix_);
          for (size_t i = 0; i < bound.size(); ++i) bound[i] = bound[i] * 1.001 + 1e-6 * scale[i] + 1e-7;
          expect_close(got, want, bound, dtype_name(type));
        }
      }
    }
  }
}

TEST_F(KernelsTest, QuantizedPromptPathMatchesReferenceWithinBf16Rounding) {
  if (!kernels::cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  kernels::force_bf16_activations(true);  // opt-in path (GEMMA4_BF16_ACTIVATIONS=1)
  struct Restore {
    ~Restore() { kernels::force_bf16_activations(false); }
  } restore;
  ThreadPool pool(2);
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    for (const Case& c : kCases) {
      if (c.n < 8) continue;
      std::vector<float> got, want;
      std::vector<double> scale;
      run(type, c, 17, pool, got, want, scale);
      // Weights and activations each rounded to bf16: a product moves by <= 2^-8 (+2^-18) of itself.
      for (auto& s : scale) s = (std::ldexp(1.0, -8) + 1e-5) * s + 1e-7;
      expect_close(got, want, scale, dtype_name(type));
    }
  }
}

TEST_F(KernelsTest, ResultsDoNotDependOnThreadCount) {
  const Case c{9, 37, 96};
  for (DType type : {DType::BF16, DType::Q8_0, DType::F32}) {
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> got, want;
      std::vector<double> scale;
      run(type, c, 19, pool, got, want, scale);
      if (first.empty()) {
        first = got;
      } else {
        EXPECT_EQ(got, first) << dtype_name(type) << " with " << threads << " threads";
      }
    }
  }
}

TEST(ThreadPool, CoversEveryIndexOnceAcrossManyJobs) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 2, 3, 7, 100}) {
      for (int repeat = 0; repeat < 50; ++repeat) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        pool.parallel_for(count, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
        });
        for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
      }
    }
  }
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

TEST(KernelsOps, DotAndAxpyMatchPlainLoops) {
  for (int64_t n : {1, 7, 8, 15, 16, 17, 256, 515}) {
    const auto a = random_values(static_cast<size_t>(n), 31 + n);
    const auto b = random_values(static_cast<size_t>(n), 37 + n);
    double want = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) want += double(a[i]) * b[i], magnitude += std::fabs(double(a[i]) * b[i]);
    EXPECT_NEAR(kernels::dot(a.data(), b.data(), n), want, 1e-6 * magnitude + 1e-7) << n;
    std::vector<float> y = b;
    kernels::axpy(0.37f, a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], b[i] + 0.37 * a[i], 1e-6 * (std::fabs(b[i]) + std::fabs(a[i]))) << i;
  }
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// GELU-tanh (vectorised where the CPU has AVX2; masked tails) against 0.5 x (1 + tanh(u)) in double.
// The float32 evaluation rounds u = sqrt(2/pi) x (1 + 0.044715 x^2) about 5 times (|du| <= 5 * 2^-24 |u|),
// which moves exp(-2u) by 2|du| relative, plus a few roundings in exp, 1 + e and the division:
// |got - want| <= (10 |u| + 16) 2^-24 |want| (+ 1e-16 |x| for the double reference's own cancellation
// 1 + tanh(u) at very negative x, + 1e-37 for the clamped exp).
TEST(KernelsOps, GeluTanhMatchesDoubleTanh) {
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.01171875f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 40.0f, -40.0f, 100.0f, -100.0f}) x.push_back(v);
  x.push_back(0.3f);  // an odd count: the last 8 elements are not one full vector
  const auto b = random_values(x.size(), 47);
  for (int run = 0; run < 4; ++run) {
    const bool with_b = run % 2 == 1;
    kernels::force_portable_kernels(run >= 2);
    std::vector<float> a = x;
    if (with_b) {
      kernels::gelu_tanh_mul(a.data(), b.data(), static_cast<int64_t>(a.size()));
    } else {
      kernels::gelu_tanh_inplace(a.data(), static_cast<int64_t>(a.size()));
    }
    int failures = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
      double want = 0.5 * v * (1.0 + std::tanh(u));
      double bound = (10.0 * std::fabs(u) + 16.0) * std::ldexp(1.0, -24) * std::fabs(want) + 1e-16 * std::fabs(v) + 1e-37;
      if (with_b) {
        want *= b[i];
        bound = bound * std::fabs(b[i]) + std::ldexp(1.0, -24) * std::fabs(want);
      }
      if (!(std::fabs(a[i] - want) <= bound) && failures++ < 5) {
        ADD_FAILURE() << "x " << x[i] << (with_b ? " (times b)" : "") << (run >= 2 ? " (portable)" : "")
                      << ": got " << a[i] << " want " << want;
      }
    }
  }
  kernels::force_portable_kernels(false);
}

}  // namespace
}  // namespace gemma4
