// Matrix products for every ggml block type against the plain reference twin (matmul_reference: rows
// decoded by kernels::dequantize, dot products in double), on matrices of random blocks (random bytes with
// small finite scales), over edge sizes: one row and one token, rows around the 8-row groups, one block and
// many blocks per row.
//  - the AVX2 integer kernels (Q4_K, Q5_K, Q6_K, IQ4_XS, Q5_0, IQ4_NL): activations quantized to int8 per
//    weight block, so each output may move by sum_blocks (max|x| in the block / 254) * sum |w| in the block,
//    plus float32 rounding;
//  - the float32 paths (portable, AVX2 decoded rows, AVX2 packed panels): float32 rounding only.
// Also hand-derived values for Q1_0 and Q2_0, which gguf-py cannot decode.
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "kernels/matmul_simd.h"

namespace gemma4 {
namespace {

struct RawMatrix {
  std::vector<uint8_t> bytes;
  TensorView view;
  std::vector<float> decoded;
};

void put_f16(uint8_t* p, uint16_t bits) {
  p[0] = static_cast<uint8_t>(bits & 0xff);
  p[1] = static_cast<uint8_t>(bits >> 8);
}

// Offsets of the f16 scale fields in one block of `type` (empty for types whose scales are set otherwise).
std::vector<size_t> f16_fields(DType type) {
  switch (type) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    case DType::TQ1_0: return {52};
    case DType::TQ2_0: return {64};
    case DType::IQ1_M:
    case DType::MXFP4:
    case DType::NVFP4: return {};
    default: return {0};
  }
}

RawMatrix make_raw_matrix(DType type, int64_t rows, int64_t cols, uint64_t seed) {
  RawMatrix m;
  m.view.dtype = type;
  m.view.shape = {rows, cols};
  m.bytes.resize(dtype_row_bytes(type, cols) * static_cast<size_t>(rows));
  std::mt19937_64 engine(seed);
  for (auto& b : m.bytes) b = static_cast<uint8_t>(engine());
  const size_t block_bytes = static_cast<size_t>(dtype_block_bytes(type));
  for (size_t block = 0; block < m.bytes.size() / block_bytes; ++block) {
    uint8_t* p = m.bytes.data() + block * block_bytes;
    const auto small_f16 = [&] { return static_cast<uint16_t>(0x1c00 + engine() % 0x400); };  // [2^-8, 2^-7)
    for (size_t offset : f16_fields(type)) put_f16(p + offset, small_f16());
    if (type == DType::MXFP4) p[0] = static_cast<uint8_t>(118 + engine() % 4);  // 2^-10 .. 2^-7
    if (type == DType::NVFP4) {
      for (int s = 0; s < 4; ++s) p[s] = static_cast<uint8_t>(engine() % 0x30);
    }
    if (type == DType::IQ1_M) {  // the f16 d lives in the top nibbles of the 4 u16 scales
      const uint16_t d = small_f16();
      for (int i = 0; i < 4; ++i) p[48 + 2 * i + 1] = static_cast<uint8_t>((p[48 + 2 * i + 1] & 0x0f) | (((d >> (4 * i)) & 0xf) << 4));
    }
  }
  m.view.data = m.bytes.data();
  m.view.nbytes = m.bytes.size();
  m.decoded.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(m.view, r, m.decoded.data() + r * cols);
  return m;
}

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(engine);
  return out;
}

// sum_i |x_i w_i| per output, and the int8 activation bound for blocks of `block` values.
void bounds(const std::vector<float>& x, int64_t n, const RawMatrix& m, int64_t block, std::vector<double>& scale,
            std::vector<double>& int8) {
  const int64_t rows = m.view.rows(), cols = m.view.cols();
  scale.assign(static_cast<size_t>(n * rows), 0.0);
  int8.assign(scale.size(), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t b = 0; b < cols / block; ++b) {
      float amax = 0;
      for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[t * cols + b * block + i]));
      for (int64_t o = 0; o < rows; ++o) {
        double wsum = 0, xw = 0;
        for (int64_t i = 0; i < block; ++i) {
          const int64_t k = b * block + i;
          wsum += std::fabs(m.decoded[o * cols + k]);
          xw += std::fabs(double(x[t * cols + k]) * m.decoded[o * cols + k]);
        }
        int8[t * rows + o] += amax / 254.0 * wsum;
        scale[t * rows + o] += xw;
      }
    }
  }
}

void expect_within(const std::vector<float>& got, const std::vector<float>& want, const std::vector<double>& bound,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(double(got[i]) - want[i]) <= bound[i]) && reported++ < 5) {
      ADD_FAILURE() << what << ": element " << i << " got " << got[i] << " want " << want[i] << " bound " << bound[i];
    }
  }
}

struct Shape {
  int64_t n, rows, blocks;
};
const Shape kShapes[] = {{1, 1, 1}, {1, 9, 6}, {2, 8, 3}, {3, 17, 1}, {7, 5, 4}, {9, 16, 2}, {33, 7, 3}, {1, 257, 2}};

const DType kBlockTypes[] = {DType::Q8_0,  DType::Q4_0,   DType::Q4_1,    DType::Q5_0,   DType::Q5_1,   DType::IQ4_NL,
                             DType::MXFP4, DType::NVFP4,  DType::Q1_0,    DType::Q2_0,   DType::Q2_K,   DType::Q3_K,
                             DType::Q4_K,  DType::Q5_K,   DType::Q6_K,    DType::IQ1_S,  DType::IQ1_M,  DType::IQ2_XXS,
                             DType::IQ2_XS, DType::IQ2_S, DType::IQ3_XXS, DType::IQ3_S,  DType::IQ4_XS, DType::TQ1_0,
                             DType::TQ2_0};

class QuantKernelsTest : public ::testing::Test {
 protected:
  void TearDown() override { kernels::force_portable_kernels(false); }
};

// The activations as the integer kernels see them: per block, d = max|x| / 127, q = round-to-nearest-even of
// x * (127 / max|x|) in float32, value q * d (in double).
std::vector<double> quantized_activations(const std::vector<float>& x, int64_t n, int64_t cols, int64_t block) {
  std::vector<double> out(x.size());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t b = 0; b < cols / block; ++b) {
      const float* v = x.data() + t * cols + b * block;
      float amax = 0;
      for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(v[i]));
      const float d = amax / 127.0f, inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (int64_t i = 0; i < block; ++i) out[t * cols + b * block + i] = std::nearbyint(v[i] * inverse) * double(d);
    }
  }
  return out;
}

// Exactness: against the reference on the activations rounded the same way, the integer kernels differ only
// by float32 rounding of the block scales and sums (their integer block sums are exact).
// Magnitude: against the plain float32 reference they stay within the int8 rounding bound.
TEST_F(QuantKernelsTest, Avx2IntegerKernelsMatchReferenceOnRoundedActivations) {
  if (!kernels::cpu_features().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  ThreadPool pool(2);
  for (bool vnni : {false, true}) {
    if (vnni && !kernels::cpu_features().avx512_vnni) continue;
    for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS, DType::Q5_0, DType::IQ4_NL}) {
      ASSERT_TRUE(kernels::simd::has_int8_kquant_avx2(type)) << dtype_name(type);
      const int64_t block = dtype_block_elems(type) == 256 ? 256 : 32;
      for (const Shape& s : kShapes) {
        const int64_t cols = s.blocks * (block == 256 ? 256 : 32 * 3);
        const std::string what = std::string(vnni ? "vnni " : "avx2 ") + dtype_name(type) + " n " +
                                 std::to_string(s.n) + " rows " + std::to_string(s.rows) + " cols " + std::to_string(cols);
        const RawMatrix m = make_raw_matrix(type, s.rows, cols, 101 + s.rows);
        const auto x = random_values(static_cast<size_t>(s.n * cols), 7 + cols);
        std::vector<float> got(static_cast<size_t>(s.n * s.rows), NAN), want(got.size(), NAN);
        kernels::simd::matmul_int8_kquant_avx2(x.data(), s.n, m.view, got.data(), pool, vnni);
        kernels::matmul_reference(x.data(), s.n, m.view, want.data());
        const auto xq = quantized_activations(x, s.n, cols, block);
        std::vector<float> exact(got.size());
        std::vector<double> exact_bound(got.size());
        for (int64_t t = 0; t < s.n; ++t) {
          for (int64_t o = 0; o < s.rows; ++o) {
            double sum = 0, magnitude = 0;
            for (int64_t k = 0; k < cols; ++k) {
              sum += xq[t * cols + k] * m.decoded[o * cols + k];
              magnitude += std::fabs(xq[t * cols + k] * m.decoded[o * cols + k]);
            }
            exact[t * s.rows + o] = static_cast<float>(sum);
            exact_bound[t * s.rows + o] = 4e-6 * magnitude + 1e-9;
          }
        }
        expect_within(got, exact, exact_bound, what + " (rounded activations)");
        std::vector<double> scale, bound;
        bounds(x, s.n, m, block, scale, bound);
        for (size_t i = 0; i < bound.size(); ++i) bound[i] = bound[i] * 1.001 + 1e-6 * scale[i] + 1e-7;
        expect_within(got, want, bound, what);
      }
    }
  }
}

// The integer kernels must actually differ from float32 arithmetic by the activation rounding (else the
// test above would not be testing them): on a one-row product the error is nonzero but inside its bound.
TEST_F(QuantKernelsTest, Avx2IntegerKernelsRoundActivations) {
  if (!kernels::cpu_features().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  ThreadPool pool(1);
  const RawMatrix m = make_raw_matrix(DType::Q4_K, 4, 512, 3);
  const auto x = random_values(512, 5);
  std::vector<float> got(4), want(4);
  kernels::simd::matmul_int8_kquant_avx2(x.data(), 1, m.view, got.data(), pool);
  kernels::matmul_reference(x.data(), 1, m.view, want.data());
  double diff = 0;
  for (int i = 0; i < 4; ++i) diff += std::fabs(double(got[i]) - want[i]);
  EXPECT_GT(diff, 0.0);
}

// Every block type through kernels::matmul on the float32 paths: portable (forced), and on AVX2 the decoded
// rows (few tokens) and the packed panels (many tokens) for the types without integer kernels.
TEST_F(QuantKernelsTest, Float32PathsMatchReferenceForEveryBlockType) {
  ThreadPool pool(2);
  for (bool portable : {true, false}) {
    if (!portable && !kernels::cpu_features().avx2) continue;
    kernels::force_portable_kernels(portable);
    for (DType type : kBlockTypes) {
      if (!portable && kernels::simd::has_int8_kquant_avx2(type)) continue;  // tested above
      for (const Shape& s : kShapes) {
        for (int64_t n : {s.n, s.n + 40}) {  // + 40 tokens: the packed prompt path
          const int64_t cols = s.blocks * std::max<int64_t>(dtype_block_elems(type), 64);
          const std::string what = std::string(portable ? "portable " : "avx2 ") + dtype_name(type) + " n " +
                                   std::to_string(n) + " rows " + std::to_string(s.rows) + " cols " + std::to_string(cols);
          const RawMatrix m = make_raw_matrix(type, s.rows, cols, 201 + s.rows);
          const auto x = random_values(static_cast<size_t>(n * cols), 9 + cols);
          std::vector<float> got(static_cast<size_t>(n * s.rows), NAN), want(got.size(), NAN);
          kernels::matmul(x.data(), n, m.view, got.data(), &pool);
          kernels::matmul_reference(x.data(), n, m.view, want.data());
          std::vector<double> scale, unused;
          bounds(x, n, m, dtype_block_elems(type), scale, unused);
          for (auto& b : scale) b = 2e-6 * b + 1e-7;  // float32 sums over at most a few thousand terms
          expect_within(got, want, scale, what);
        }
      }
    }
  }
}

TEST(QuantDecodeTest, Q1_0AndQ2_0HandDerived) {
  // Q1_0: d = 1.5 (f16 0x3e00); bits 0b10100101 in byte 0: values 0, 2, 5, 7 are +d, the rest of the byte -d.
  std::vector<uint8_t> q1(18, 0);
  put_f16(q1.data(), 0x3e00);
  q1[2] = 0xa5;
  q1[17] = 0x80;  // value 127 (bit 7 of the last byte)
  std::vector<float> out(128);
  kernels::dequantize(DType::Q1_0, q1.data(), 128, out.data());
  const float first[8] = {1.5f, -1.5f, 1.5f, -1.5f, -1.5f, 1.5f, -1.5f, 1.5f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], first[i]) << i;
  EXPECT_EQ(out[8], -1.5f);
  EXPECT_EQ(out[127], 1.5f);
  // Q2_0: d = -0.5 (f16 0xb800); byte 0 = 0b11100100 holds 0, 1, 2, 3 -> (q - 1) * d = 0.5, -0, -0.5, -1.
  std::vector<uint8_t> q2(18, 0x55);  // 0x55: every value 1 -> 0
  put_f16(q2.data(), 0xb800);
  q2[2] = 0xe4;
  out.assign(64, NAN);
  kernels::dequantize(DType::Q2_0, q2.data(), 64, out.data());
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], -0.5f);
  EXPECT_EQ(out[3], -1.0f);
  for (int i = 4; i < 64; ++i) EXPECT_EQ(out[i], 0.0f) << i;
}

TEST(QuantDecodeTest, PartialBlocksAreRefused) {
  std::vector<uint8_t> bytes(176, 0);
  std::vector<float> out(256);
  EXPECT_THROW(kernels::dequantize(DType::Q5_K, bytes.data(), 128, out.data()), Error);
}

}  // namespace
}  // namespace gemma4
