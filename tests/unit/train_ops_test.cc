// Gradients of each op of the training pass (src/train) against central finite differences of small
// float64 reference functions written here from the ops' definitions. Each test contracts the op's
// output with fixed random weights c (loss = sum c . y), so the backward gets dy = c.
// Tolerance: max |analytic - numeric| <= 2e-4 * max |numeric| (float32 backward, float64 differences
// with step 1e-5, whose truncation error is ~1e-10).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "model/moe_routing.h"
#include "train/attention_grads.h"
#include "train/matrix_param.h"
#include "train/op_grads.h"

namespace gemma4::train {
namespace {

using Vec = std::vector<double>;

std::vector<float> random_floats(size_t count, uint32_t seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> out(count);
  for (float& v : out) v = normal(rng);
  return out;
}

Vec to_double(const std::vector<float>& x) { return Vec(x.begin(), x.end()); }

// d/dx_i of f at x by central differences.
Vec numeric_gradient(const std::function<double(const Vec&)>& f, Vec x, double step = 1e-5) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + step;
    const double up = f(x);
    x[i] = saved - step;
    const double down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * step);
  }
  return g;
}

double contract(const Vec& y, const std::vector<float>& c) {
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += y[i] * c[i];
  return sum;
}

void expect_close(const std::vector<float>& analytic, const Vec& numeric, const char* what, double tolerance = 2e-4) {
  ASSERT_EQ(analytic.size(), numeric.size()) << what;
  double scale = 0, worst = 0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    scale = std::max(scale, std::abs(numeric[i]));
    worst = std::max(worst, std::abs(analytic[i] - numeric[i]));
  }
  ASSERT_GT(scale, 1e-6) << what << ": the numeric gradient is zero, the test would prove nothing";
  EXPECT_LE(worst, tolerance * scale) << what << ": worst error " << worst << " against max |gradient| " << scale;
}

// --- float64 references ---

Vec rms_norm_ref(const Vec& x, const Vec* w, int64_t rows, int64_t dim, double eps) {
  Vec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += x[r * dim + i] * x[r * dim + i];
    const double scale = 1 / std::sqrt(ss / dim + eps);
    for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = x[r * dim + i] * scale * (w ? (*w)[i] : 1.0);
  }
  return y;
}

Vec rope_ref(const Vec& x, int64_t head_dim, int64_t pairs, double position, double wavelength, double scaling) {
  Vec y = x;
  const int64_t half = head_dim / 2;
  for (int64_t j = 0; j < pairs; ++j) {
    const double angle = position * std::pow(wavelength, -2.0 * j / head_dim) / scaling;
    y[j] = x[j] * std::cos(angle) - x[j + half] * std::sin(angle);
    y[j + half] = x[j + half] * std::cos(angle) + x[j] * std::sin(angle);
  }
  return y;
}

double gelu_ref(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

TEST(TrainOps, RmsNormGradientWithAndWithoutScale) {
  const int64_t rows = 3, dim = 8;
  const double eps = 1e-6;
  const auto x = random_floats(rows * dim, 1);
  const auto w = random_floats(dim, 2);
  const auto c = random_floats(rows * dim, 3);
  for (bool scaled : {true, false}) {
    std::vector<float> dx(rows * dim, 0.0f), dw(dim, 0.0f);
    rms_norm_backward(x.data(), scaled ? w.data() : nullptr, c.data(), rows, dim, static_cast<float>(eps), dx.data(),
                      scaled ? dw.data() : nullptr);
    const Vec wd = to_double(w);
    expect_close(dx, numeric_gradient([&](const Vec& xv) { return contract(rms_norm_ref(xv, scaled ? &wd : nullptr, rows, dim, eps), c); }, to_double(x)),
                 scaled ? "rms dx (scaled)" : "rms dx (no scale)");
    if (scaled) {
      expect_close(dw, numeric_gradient([&](const Vec& wv) { return contract(rms_norm_ref(to_double(x), &wv, rows, dim, eps), c); }, wd),
                   "rms dweight");
    }
  }
}

TEST(TrainOps, RmsNormBackwardAddsIntoItsOutputs) {
  const auto x = random_floats(4, 4), c = random_floats(4, 5);
  std::vector<float> once(4, 0.0f), twice(4, 0.0f);
  rms_norm_backward(x.data(), nullptr, c.data(), 1, 4, 1e-6f, once.data(), nullptr);
  rms_norm_backward(x.data(), nullptr, c.data(), 1, 4, 1e-6f, twice.data(), nullptr);
  rms_norm_backward(x.data(), nullptr, c.data(), 1, 4, 1e-6f, twice.data(), nullptr);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(twice[i], 2 * once[i]);
}

TEST(TrainOps, RopeGradientFullAndPartial) {
  const int64_t head_dim = 8;
  const auto x = random_floats(head_dim, 6);
  const auto c = random_floats(head_dim, 7);
  struct Case { int64_t pairs; double position, wavelength, scaling; };
  for (const Case& k : {Case{4, 5.0, 1e4, 1.0}, Case{1, 7.0, 1e6, 1.0}, Case{2, 3.0, 1e4, 8.0}}) {
    std::vector<float> grad(c);
    rope_backward_inplace(grad.data(), head_dim, k.pairs, k.position, k.wavelength, k.scaling);
    expect_close(grad, numeric_gradient([&](const Vec& v) { return contract(rope_ref(v, head_dim, k.pairs, k.position, k.wavelength, k.scaling), c); }, to_double(x)),
                 "rope");
  }
}

TEST(TrainOps, GeluTanhMulGradient) {
  const int64_t n = 12;
  auto a = random_floats(n, 8, 2.0f);
  a[0] = -6.0f;  // the far negative tail
  const auto b = random_floats(n, 9), c = random_floats(n, 10);
  std::vector<float> da(n, 0.0f), db(n, 0.0f);
  gelu_tanh_mul_backward(a.data(), b.data(), c.data(), n, da.data(), db.data());
  auto f = [&](const Vec& av, const Vec& bv) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += c[i] * gelu_ref(av[i]) * bv[i];
    return s;
  };
  expect_close(da, numeric_gradient([&](const Vec& av) { return f(av, to_double(b)); }, to_double(a)), "gelu da");
  expect_close(db, numeric_gradient([&](const Vec& bv) { return f(to_double(a), bv); }, to_double(b)), "gelu db");
}

TEST(TrainOps, SoftCapGradient) {
  const int64_t n = 10;
  const float cap = 3.0f;
  const auto x = random_floats(n, 11, 4.0f), c = random_floats(n, 12);
  std::vector<float> y(n), grad(c);
  for (int64_t i = 0; i < n; ++i) y[i] = cap * std::tanh(x[i] / cap);
  soft_cap_backward_inplace(y.data(), grad.data(), n, cap);
  expect_close(grad, numeric_gradient([&](const Vec& v) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += c[i] * cap * std::tanh(v[i] / cap);
    return s;
  }, to_double(x)), "soft cap");
}

TEST(TrainOps, SoftmaxCrossEntropyValueAndGradient) {
  const int64_t n = 9;
  const int32_t target = 4;
  const auto logits = random_floats(n, 13, 3.0f);
  auto reference = [&](const Vec& v) {
    double max_v = *std::max_element(v.begin(), v.end()), sum = 0;
    for (double value : v) sum += std::exp(value - max_v);
    return std::log(sum) + max_v - v[target];
  };
  std::vector<float> grad(n);
  const double loss = softmax_cross_entropy(logits.data(), n, target, grad.data());
  EXPECT_NEAR(loss, reference(to_double(logits)), 1e-9);
  expect_close(grad, numeric_gradient(reference, to_double(logits)), "cross-entropy");
  // By hand: uniform logits over n classes give log n and gradient 1/n - onehot.
  std::vector<float> flat(n, 0.5f), flat_grad(n);
  EXPECT_NEAR(softmax_cross_entropy(flat.data(), n, 0, flat_grad.data()), std::log(9.0), 1e-12);
  EXPECT_NEAR(flat_grad[0], 1.0 / 9 - 1, 1e-7);
  EXPECT_NEAR(flat_grad[1], 1.0 / 9, 1e-7);
}

TEST(TrainOps, RoutingGradientThroughRenormalisedTopK) {
  const int64_t experts = 6, top_k = 3;
  const auto logits = random_floats(experts, 14, 1.5f);
  const auto scales = random_floats(experts, 15, 0.3f);
  const auto c = random_floats(top_k, 16);
  std::vector<float> probabilities(logits);
  std::vector<int64_t> order(experts);
  std::vector<ExpertChoice> choices(top_k);
  std::vector<float> scale_values(scales);
  for (float& s : scale_values) s += 1.0f;
  route_token(probabilities.data(), experts, top_k, scale_values.data(), order.data(), choices.data());
  // Reference: the same selection (held fixed), weights p_e / sum_kept p * s_e in double.
  auto weights = [&](const Vec& l, const Vec& s) {
    double max_v = *std::max_element(l.begin(), l.end()), sum = 0;
    Vec p(experts);
    for (int64_t i = 0; i < experts; ++i) sum += (p[i] = std::exp(l[i] - max_v));
    for (double& v : p) v /= sum;
    double kept = 0;
    for (const auto& ch : choices) kept += p[ch.expert];
    double out = 0;
    for (int64_t k = 0; k < top_k; ++k) out += c[k] * p[choices[k].expert] / kept * s[choices[k].expert];
    return out;
  };
  std::vector<float> dlogits(experts, 0.0f), dscale(experts, 0.0f);
  route_token_backward(probabilities.data(), experts, choices.data(), top_k, scale_values.data(), c.data(),
                       dlogits.data(), dscale.data());
  expect_close(dlogits, numeric_gradient([&](const Vec& l) { return weights(l, to_double(scale_values)); }, to_double(logits)),
               "routing dlogits");
  expect_close(dscale, numeric_gradient([&](const Vec& s) { return weights(to_double(logits), s); }, to_double(scale_values)),
               "routing dscale");
  // Experts not chosen get no scale gradient.
  for (int64_t e = 0; e < experts; ++e) {
    const bool chosen = std::any_of(choices.begin(), choices.end(), [&](const ExpertChoice& ch) { return ch.expert == e; });
    if (!chosen) EXPECT_EQ(dscale[e], 0.0f);
  }
}

// softmax(cap(q k^T)) v over the mask, in double.
Vec attention_ref(const Vec& q, const Vec& k, const Vec& v, const AttentionGeometry& g) {
  const int64_t d = g.head_dim, group = g.q_heads / g.kv_heads;
  Vec out(static_cast<size_t>(g.length * g.q_heads * d), 0.0);
  for (int64_t t = 0; t < g.length; ++t) {
    for (int64_t h = 0; h < g.q_heads; ++h) {
      const int64_t kh = h / group;
      Vec scores(static_cast<size_t>(g.length), -INFINITY);
      double max_s = -INFINITY;
      for (int64_t j = 0; j < g.length; ++j) {
        const bool causal = g.rule.bidirectional || j <= t;
        const bool in_window = !g.rule.windowed || t - j <= g.rule.window - 1;
        if (!causal || !in_window) continue;
        double s = 0;
        for (int64_t i = 0; i < d; ++i) s += q[(t * g.q_heads + h) * d + i] * k[(j * g.kv_heads + kh) * d + i];
        if (g.soft_cap > 0) s = g.soft_cap * std::tanh(s / g.soft_cap);
        scores[j] = s;
        max_s = std::max(max_s, s);
      }
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - max_s));
      for (int64_t j = 0; j < g.length; ++j) {
        for (int64_t i = 0; i < d; ++i) out[(t * g.q_heads + h) * d + i] += scores[j] / sum * v[(j * g.kv_heads + kh) * d + i];
      }
    }
  }
  return out;
}

struct AttentionCase {
  const char* name;
  bool windowed, bidirectional;
  double soft_cap;
};

TEST(TrainOps, AttentionGradientCausalWindowedCappedGrouped) {
  for (const AttentionCase& k : {AttentionCase{"causal", false, false, 0.0}, AttentionCase{"window 3 + cap", true, false, 2.0},
                                 AttentionCase{"bidirectional", false, true, 0.0}}) {
    AttentionGeometry g;
    g.length = 7;
    g.q_heads = 4;
    g.kv_heads = 2;
    g.head_dim = 4;
    g.rule.windowed = k.windowed;
    g.rule.bidirectional = k.bidirectional;
    g.rule.window = 3;
    g.soft_cap = k.soft_cap;
    const size_t qn = g.length * g.q_heads * g.head_dim, kn = g.length * g.kv_heads * g.head_dim;
    const auto q = random_floats(qn, 20, 1.5f), kk = random_floats(kn, 21, 1.5f), v = random_floats(kn, 22);
    const auto c = random_floats(qn, 23);
    std::vector<float> context(qn);
    AttentionStats stats;
    attention_forward(q.data(), kk.data(), v.data(), g, context.data(), stats);
    const Vec expected = attention_ref(to_double(q), to_double(kk), to_double(v), g);
    for (size_t i = 0; i < qn; ++i) ASSERT_NEAR(context[i], expected[i], 1e-5) << k.name;
    std::vector<float> dq(qn, 0.0f), dk(kn, 0.0f), dv(kn, 0.0f);
    attention_backward(q.data(), kk.data(), v.data(), c.data(), stats, g, dq.data(), dk.data(), dv.data());
    SCOPED_TRACE(k.name);
    expect_close(dq, numeric_gradient([&](const Vec& x) { return contract(attention_ref(x, to_double(kk), to_double(v), g), c); }, to_double(q)), "dq");
    expect_close(dk, numeric_gradient([&](const Vec& x) { return contract(attention_ref(to_double(q), x, to_double(v), g), c); }, to_double(kk)), "dk");
    expect_close(dv, numeric_gradient([&](const Vec& x) { return contract(attention_ref(to_double(q), to_double(kk), x, g), c); }, to_double(v)), "dv");
  }
}

TensorView f32_view(const std::vector<float>& data, int64_t rows, int64_t cols) {
  TensorView view;
  view.dtype = DType::F32;
  view.shape = {rows, cols};
  view.data = reinterpret_cast<const uint8_t*>(data.data());
  view.nbytes = data.size() * sizeof(float);
  return view;
}

TEST(TrainOps, LoraAndFullMatrixGradients) {
  const int64_t n = 5, in = 6, out = 4, rank = 2;
  auto w = random_floats(out * in, 30);
  LoraParameter lora;
  lora.tensor = "m";
  lora.rank = rank;
  lora.in = in;
  lora.out = out;
  lora.scale = 0.75f;
  lora.a = random_floats(rank * in, 31);
  lora.b = random_floats(out * rank, 32);
  const auto x = random_floats(n * in, 33), c = random_floats(n * out, 34);
  std::vector<float> gw(out * in, 0.0f), ga(rank * in, 0.0f), gb(out * rank, 0.0f), dx(n * in, 0.0f);
  MatrixParam m;
  m.weight = f32_view(w, out, in);
  m.weight_grad = gw.data();
  m.lora = &lora;
  m.lora_grad_a = ga.data();
  m.lora_grad_b = gb.data();
  // y = x (W + s B A)^T in double.
  auto f = [&](const Vec& xv, const Vec& wv, const Vec& av, const Vec& bv) {
    double sum = 0;
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t o = 0; o < out; ++o) {
        double y = 0;
        for (int64_t i = 0; i < in; ++i) {
          double weight = wv[o * in + i];
          for (int64_t r = 0; r < rank; ++r) weight += lora.scale * bv[o * rank + r] * av[r * in + i];
          y += xv[t * in + i] * weight;
        }
        sum += c[t * out + o] * y;
      }
    }
    return sum;
  };
  std::vector<float> y(n * out);
  matrix_forward(m, x.data(), n, y.data());
  EXPECT_NEAR(contract(Vec(y.begin(), y.end()), c), f(to_double(x), to_double(w), to_double(lora.a), to_double(lora.b)), 1e-4);
  matrix_backward(m, x.data(), c.data(), n, dx.data());
  const Vec X = to_double(x), W = to_double(w), A = to_double(lora.a), B = to_double(lora.b);
  expect_close(dx, numeric_gradient([&](const Vec& v) { return f(v, W, A, B); }, X), "dx");
  expect_close(gw, numeric_gradient([&](const Vec& v) { return f(X, v, A, B); }, W), "dW");
  expect_close(ga, numeric_gradient([&](const Vec& v) { return f(X, W, v, B); }, A), "dA");
  expect_close(gb, numeric_gradient([&](const Vec& v) { return f(X, W, A, v); }, B), "dB");

  // Embedding-style row lookups through the same update.
  std::vector<float> row(in), ga2(rank * in, 0.0f), gb2(out * rank, 0.0f), gw2(out * in, 0.0f);
  m.lora_grad_a = ga2.data();
  m.lora_grad_b = gb2.data();
  m.weight_grad = gw2.data();
  matrix_row(m, 2, row.data());
  const std::vector<float> drow = random_floats(in, 35);
  matrix_row_backward(m, 2, drow.data());
  auto g = [&](const Vec& wv, const Vec& av, const Vec& bv) {
    double sum = 0;
    for (int64_t i = 0; i < in; ++i) {
      double weight = wv[2 * in + i];
      for (int64_t r = 0; r < rank; ++r) weight += lora.scale * bv[2 * rank + r] * av[r * in + i];
      sum += drow[i] * weight;
    }
    return sum;
  };
  for (int64_t i = 0; i < in; ++i) {
    double expected = w[2 * in + i];
    for (int64_t r = 0; r < rank; ++r) expected += lora.scale * lora.b[2 * rank + r] * lora.a[r * in + i];
    EXPECT_NEAR(row[i], expected, 1e-5);
  }
  expect_close(gw2, numeric_gradient([&](const Vec& v) { return g(v, A, B); }, W), "row dW");
  expect_close(ga2, numeric_gradient([&](const Vec& v) { return g(W, v, B); }, A), "row dA");
  expect_close(gb2, numeric_gradient([&](const Vec& v) { return g(W, A, v); }, B), "row dB");
}

// dx = dy . W for stored matrices: each row decoded as stored, so dx equals the product with the
// decoded matrix (computed here in double).
TEST(TrainOps, TransposedProductReadsEveryStoredType) {
  const int64_t n = 5, out = 40, in = 64;  // 64: a whole number of Q8_0/Q4_0 blocks
  const auto w = random_floats(out * in, 40), dy = random_floats(n * out, 41);
  for (DType type : {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0}) {
    std::vector<uint8_t> bytes = gemma4::encode_matrix(type, w.data(), out, in);
    TensorView view;
    view.dtype = type;
    view.shape = {out, in};
    view.data = bytes.data();
    view.nbytes = bytes.size();
    std::vector<float> decoded(in), dx(n * in, 0.0f);
    add_matmul_transposed(dy.data(), n, view, dx.data());
    Vec expected(n * in, 0.0);
    for (int64_t o = 0; o < out; ++o) {
      kernels::dequantize_row(view, o, decoded.data());
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < in; ++i) expected[t * in + i] += static_cast<double>(dy[t * out + o]) * decoded[i];
    }
    for (int64_t i = 0; i < n * in; ++i) ASSERT_NEAR(dx[i], expected[i], 1e-4) << dtype_name(type) << " at " << i;
  }
}

}  // namespace
}  // namespace gemma4::train
