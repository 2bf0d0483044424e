// The prompt GEMMs of kernels/matmul_gemm.h against the reference paths: the int8 GEMM (Q8_0 / Q4_0, AVX2 and
// AVX-512 VNNI forced in turn) against matmul_reference within the activation rounding bound and against the
// matrix-vector int8 kernel (the same quantized activations) row by row; the float GEMM (BF16 / F16 / F32)
// against matmul_reference within float32 rounding, and bit for bit against itself one row at a time (its
// result must not depend on how many rows share a call). Random shapes and the edges of its tiles
// (16-row panels, 4 x 6 and 8 x 1 tiles, 32-row blocks, column tails).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/matmul_gemm.h"

namespace gemma4 {
namespace {

struct Matrix {
  std::vector<uint8_t> bytes;
  TensorView view;
};

// Random weights of `type`: quantized blocks with random int8 / nibbles and small f16 scales, or random
// float values stored in the type.
Matrix random_matrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix m;
  m.view.dtype = type;
  m.view.shape = {rows, cols};
  const size_t row_bytes = dtype_row_bytes(type, cols);
  m.bytes.resize(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = m.bytes.data() + r * row_bytes;
    if (type == DType::Q8_0 || type == DType::Q4_0) {
      const int64_t block_bytes = type == DType::Q8_0 ? 34 : 18;
      for (int64_t b = 0; b < cols / 32; ++b) {
        uint8_t* block = row + b * block_bytes;
        const uint16_t scale = f32_to_f16(0.001f + 0.01f * std::fabs(normal(rng)));
        std::memcpy(block, &scale, 2);
        for (int64_t i = 2; i < block_bytes; ++i) {  // Q8_0: int8 in [-127, 127] as llama.cpp writes them
          block[i] = type == DType::Q8_0 ? static_cast<uint8_t>(static_cast<int>(rng() % 255) - 127)
                                         : static_cast<uint8_t>(rng());
        }
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        const float value = normal(rng);
        if (type == DType::F32) {
          std::memcpy(row + c * 4, &value, 4);
        } else {
          const uint16_t bits = type == DType::BF16 ? f32_to_bf16(value) : f32_to_f16(value);
          std::memcpy(row + c * 2, &bits, 2);
        }
      }
    }
  }
  m.view.data = m.bytes.data();
  m.view.nbytes = m.bytes.size();
  return m;
}

std::vector<float> random_activations(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(count));
  for (auto& v : x) v = normal(rng);
  return x;
}

// sum_k |x_k w_k| per output, and the int8 activation bound sum_b (amax_b / 254) sum_{k in b} |w_k|.
void bounds(const std::vector<float>& x, int64_t n, const TensorView& w, std::vector<double>& magnitude,
            std::vector<double>& int8_bound) {
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<float> row(static_cast<size_t>(cols));
  magnitude.assign(static_cast<size_t>(n * rows), 0.0);
  int8_bound.assign(magnitude.size(), 0.0);
  for (int64_t o = 0; o < rows; ++o) {
    kernels::dequantize_row(w, o, row.data());
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t k = 0; k < cols; ++k) magnitude[t * rows + o] += std::fabs(double(x[t * cols + k]) * row[k]);
      for (int64_t b = 0; b < cols / 32; ++b) {
        float amax = 0.0f;
        double wsum = 0.0;
        for (int i = 0; i < 32; ++i) {
          amax = std::max(amax, std::fabs(x[t * cols + b * 32 + i]));
          wsum += std::fabs(row[b * 32 + i]);
        }
        int8_bound[t * rows + o] += amax / 254.0 * wsum;
      }
    }
  }
}

struct Shape3 {
  int64_t n, rows, cols;
};

TEST(MatmulGemm, Int8MatchesTheReferenceAndTheMatrixVectorKernel) {
  const auto& cpu = kernels::cpu_features();
  if (!cpu.avx2) GTEST_SKIP() << "no AVX2";
  std::vector<kernels::gemm::Isa> isas = {kernels::gemm::Isa::kAvx2};
  if (cpu.avx512_vnni) isas.push_back(kernels::gemm::Isa::kAvx512);
  ThreadPool pool(3);
  std::mt19937 rng(5);
  std::vector<Shape3> shapes = {{8, 16, 32}, {9, 15, 64}, {1, 17, 96}, {2, 1, 32}, {7, 33, 1536},
                                {8, 16, 2048}, {17, 40, 256}, {100, 48, 160}, {13, 16, 6144}};
  for (int i = 0; i < 10; ++i) {
    shapes.push_back({1 + static_cast<int64_t>(rng() % 40), 1 + static_cast<int64_t>(rng() % 70),
                      32 * (1 + static_cast<int64_t>(rng() % 24))});
  }
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    for (const Shape3& s : shapes) {
      const Matrix m = random_matrix(type, s.rows, s.cols, static_cast<uint32_t>(s.n * 1000 + s.rows + s.cols));
      const std::vector<float> x = random_activations(s.n * s.cols, static_cast<uint32_t>(s.rows * 7 + s.cols));
      std::vector<float> want(static_cast<size_t>(s.n * s.rows)), rows_one_by_one(want.size());
      kernels::matmul_reference(x.data(), s.n, m.view, want.data());
      for (int64_t t = 0; t < s.n; ++t) {  // n = 1: the matrix-vector int8 kernel
        kernels::matmul(x.data() + t * s.cols, 1, m.view, rows_one_by_one.data() + t * s.rows, &pool);
      }
      std::vector<double> magnitude, int8_bound;
      bounds(x, s.n, m.view, magnitude, int8_bound);
      for (kernels::gemm::Isa isa : isas) {
        std::vector<float> got(want.size(), NAN);
        kernels::gemm::matmul_int8(x.data(), s.n, m.view, got.data(), pool, isa);
        for (size_t i = 0; i < got.size(); ++i) {
          const std::string where = std::string(dtype_name(type)) + " n " + std::to_string(s.n) + " rows " +
                                    std::to_string(s.rows) + " cols " + std::to_string(s.cols) + " isa " +
                                    std::to_string(static_cast<int>(isa)) + " element " + std::to_string(i);
          ASSERT_LE(std::fabs(double(got[i]) - want[i]), int8_bound[i] + 1e-6 * magnitude[i] + 1e-7) << where;
          // Same quantized activations, exact integer block sums: float32 summation order only.
          ASSERT_LE(std::fabs(got[i] - rows_one_by_one[i]), 1e-5 * magnitude[i] + 1e-7) << where;
        }
      }
    }
  }
}

TEST(MatmulGemm, Int8TakesMinus128Weights) {
  // llama.cpp's quantizer never writes -128, but a file may hold it: |w| and w * sign(x) must not overflow.
  const auto& cpu = kernels::cpu_features();
  if (!cpu.avx2) GTEST_SKIP() << "no AVX2";
  ThreadPool pool(1);
  Matrix m = random_matrix(DType::Q8_0, 16, 64, 77);
  for (int64_t r = 0; r < 16; ++r) std::memset(m.bytes.data() + r * 68 + 2, 0x80, 32);  // block 0 all -128
  const std::vector<float> x = random_activations(8 * 64, 78);
  std::vector<float> want(8 * 16);
  kernels::matmul_reference(x.data(), 8, m.view, want.data());
  std::vector<double> magnitude, int8_bound;
  bounds(x, 8, m.view, magnitude, int8_bound);
  std::vector<kernels::gemm::Isa> isas = {kernels::gemm::Isa::kAvx2};
  if (cpu.avx512_vnni) isas.push_back(kernels::gemm::Isa::kAvx512);
  for (kernels::gemm::Isa isa : isas) {
    std::vector<float> got(want.size());
    kernels::gemm::matmul_int8(x.data(), 8, m.view, got.data(), pool, isa);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_LE(std::fabs(double(got[i]) - want[i]), int8_bound[i] + 1e-6 * magnitude[i] + 1e-7) << i;
    }
  }
}

TEST(MatmulGemm, FloatMatchesTheReferenceAndDoesNotDependOnTheRowCount) {
  if (!kernels::cpu_features().avx512) GTEST_SKIP() << "no AVX-512";
  ThreadPool pool(2);
  std::mt19937 rng(9);
  std::vector<Shape3> shapes = {{1, 1, 1},   {1, 9, 17},   {2, 4, 16},   {6, 4, 32},    {7, 5, 33},
                                {12, 31, 48}, {13, 32, 15}, {8, 33, 1536}, {25, 70, 100}, {3, 8, 2048}};
  for (int i = 0; i < 10; ++i) {
    shapes.push_back({1 + static_cast<int64_t>(rng() % 30), 1 + static_cast<int64_t>(rng() % 80),
                      1 + static_cast<int64_t>(rng() % 700)});
  }
  for (DType type : {DType::F32, DType::BF16, DType::F16}) {
    for (const Shape3& s : shapes) {
      const Matrix m = random_matrix(type, s.rows, s.cols, static_cast<uint32_t>(s.n + s.rows * 31 + s.cols));
      const std::vector<float> x = random_activations(s.n * s.cols, static_cast<uint32_t>(s.cols * 3 + s.n));
      std::vector<float> want(static_cast<size_t>(s.n * s.rows)), got(want.size(), NAN), single(want.size(), NAN);
      kernels::matmul_reference(x.data(), s.n, m.view, want.data());
      kernels::gemm::matmul_float(x.data(), s.n, m.view, got.data(), pool);
      for (int64_t t = 0; t < s.n; ++t) {
        kernels::gemm::matmul_float(x.data() + t * s.cols, 1, m.view, single.data() + t * s.rows, pool);
      }
      std::vector<double> magnitude, unused;
      bounds(x, s.n, m.view, magnitude, unused);
      for (size_t i = 0; i < got.size(); ++i) {
        const std::string where = std::string(dtype_name(type)) + " n " + std::to_string(s.n) + " rows " +
                                  std::to_string(s.rows) + " cols " + std::to_string(s.cols) + " element " +
                                  std::to_string(i);
        ASSERT_LE(std::fabs(double(got[i]) - want[i]), 1e-6 * magnitude[i] + 1e-7) << where;
        ASSERT_EQ(got[i], single[i]) << where;
      }
    }
  }
}

TEST(MatmulGemm, TheDispatchPointChoosesTheGemmsForPrompts) {
  // kernels::matmul on a prompt-sized Q8_0 product must give the int8 GEMM's result exactly.
  const auto& cpu = kernels::cpu_features();
  if (!cpu.avx2) GTEST_SKIP() << "no AVX2";
  ThreadPool pool(2);
  const Matrix m = random_matrix(DType::Q8_0, 40, 256, 3);
  const std::vector<float> x = random_activations(20 * 256, 4);
  std::vector<float> via_matmul(20 * 40), direct(20 * 40);
  kernels::matmul(x.data(), 20, m.view, via_matmul.data(), &pool);
  kernels::gemm::matmul_int8(x.data(), 20, m.view, direct.data(), pool,
                             cpu.avx512_vnni ? kernels::gemm::Isa::kAvx512 : kernels::gemm::Isa::kAvx2);
  EXPECT_EQ(via_matmul, direct);
}

}  // namespace
}  // namespace gemma4
