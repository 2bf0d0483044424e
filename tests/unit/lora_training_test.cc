// KerasHub's enable_lora (keras_hub/src/models/backbone.py; keras/src/layers/core/einsum_dense.py): layer choice,
// factor shapes, he_uniform / zeros initialisation, the effective kernel W + (alpha/r) a @ b, and saving as a
// PEFT folder and a .lora.h5 file that the existing readers load back to the same factors and logits.
// Expected values are computed here by hand in double from KerasHub's definitions.
#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gemma4/lora.h>
#include <gemma4/lora_training.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "kernels/matmul.h"
#include "loading/builtin_model.h"
#include "loading/random_weights.h"
#include "model/backbone_parts.h"
#include "model/lora_merge.h"
#include "model/weights.h"
#include "train/lora_state.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("gemma4_lora_training_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void randomize(LoraTrainingState& state, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (LoraLayer& layer : state.layers()) {
    for (float& v : layer.a) v = normal(rng);
    for (float& v : layer.b) v = normal(rng);
  }
}

std::vector<double> matrix(const TensorView& view) {
  std::vector<float> row(static_cast<size_t>(view.cols()));
  std::vector<double> out;
  for (int64_t r = 0; r < view.rows(); ++r) {
    kernels::dequantize_row(view, r, row.data());
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

// KerasHub's delta (alpha/r) a @ b in kernel layout, moved to our [out, in] matrix as the Keras weight reader
// moves kernels (keras_names.h): heads-first kernels [N, X, Y] -> row n*Y + y, column x; other kernels
// [..., Y] -> row y, column = flat leading index.
std::vector<double> keras_delta_in_our_layout(const LoraLayer& layer, double scale) {
  const int64_t r = layer.rank(), Y = layer.kernel_shape.back();
  int64_t lead = 1;
  for (size_t i = 0; i + 1 < layer.kernel_shape.size(); ++i) lead *= layer.kernel_shape[i];
  std::vector<double> kernel(static_cast<size_t>(lead * Y));
  for (int64_t row = 0; row < lead; ++row)
    for (int64_t y = 0; y < Y; ++y) {
      double sum = 0;
      for (int64_t k = 0; k < r; ++k) sum += double(layer.a[row * r + k]) * double(layer.b[k * Y + y]);
      kernel[row * Y + y] = scale * sum;
    }
  std::vector<double> ours(kernel.size());
  if (layer.heads_first) {
    const int64_t N = layer.kernel_shape[0], X = layer.kernel_shape[1];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t x = 0; x < X; ++x)
        for (int64_t y = 0; y < Y; ++y) ours[(n * Y + y) * X + x] = kernel[(n * X + x) * Y + y];
  } else {
    for (int64_t row = 0; row < lead; ++row)
      for (int64_t y = 0; y < Y; ++y) ours[y * lead + row] = kernel[row * Y + y];
  }
  return ours;
}

const TensorView& tensor_of(const ModelWeights& w, const std::string& tensor) {
  const int64_t l = std::stoll(tensor.substr(7));
  const LayerWeights& L = w.layers[static_cast<size_t>(l)];
  if (tensor.find("q_proj") != std::string::npos) return L.q_proj;
  if (tensor.find("k_proj") != std::string::npos) return L.k_proj;
  if (tensor.find("v_proj") != std::string::npos) return L.v_proj;
  if (tensor.find("o_proj") != std::string::npos) return L.o_proj;
  if (tensor.find("gate_proj") != std::string::npos) return L.gate_proj;
  if (tensor.find("up_proj") != std::string::npos) return L.up_proj;
  if (tensor.find("down_proj") != std::string::npos) return L.down_proj;
  if (tensor.find("per_layer_input_gate") != std::string::npos) return L.ple_gate;
  return L.ple_projection;
}

double max_diff(const std::vector<double>& x, const std::vector<double>& y) {
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

TEST(LoraTraining, DefaultTargetsAreQueryAndValueWithKerasShapes) {
  const Gemma4Config c = builtin_tiny_config();
  LoraTrainingState state(c, 4);
  EXPECT_EQ(state.alpha(), 4.0f);
  EXPECT_EQ(state.scale(), 1.0f);
  size_t expected = 0;
  for (int64_t l = 0; l < c.num_layers; ++l) expected += 1 + ((!c.is_kv_shared(l) && !c.uses_k_eq_v(l)) ? 1 : 0);
  ASSERT_EQ(state.layers().size(), expected);
  int64_t block = -1;
  for (const LoraLayer& layer : state.layers()) {
    const int64_t l = layer.block;
    const int64_t heads = layer.layer_name == "query" ? c.num_query_heads : c.layer_kv_heads(l);
    EXPECT_TRUE(layer.layer_name == "query" || layer.layer_name == "value") << layer.layer_name;
    EXPECT_EQ(layer.a_shape(), (std::vector<int64_t>{heads, c.hidden_dim, 4})) << layer.tensor;
    EXPECT_EQ(layer.b_shape(), (std::vector<int64_t>{4, c.layer_head_dim(l)})) << layer.tensor;
    // KerasHub's _flatten_layers order: value before query within a block.
    if (layer.layer_name == "value") {
      EXPECT_GT(l, block);
    }
    block = l;
  }
  EXPECT_EQ(state.layers()[0].layer_name, "value");
  EXPECT_EQ(state.layers()[1].layer_name, "query");
}

TEST(LoraTraining, HeUniformBoundAndZeroB) {
  const Gemma4Config c = builtin_tiny_config();
  LoraTrainingState state(c, 8, {"query", "attention_output", "ffw_linear"}, 0, 7);
  for (const LoraLayer& layer : state.layers()) {
    // keras compute_fans: fan_in = shape[-2] * prod(shape[:-2]) of a = kernel_shape[:-1] + [r].
    double fan_in = 1;
    for (size_t i = 0; i + 1 < layer.kernel_shape.size(); ++i) fan_in *= double(layer.kernel_shape[i]);
    const double bound = std::sqrt(6.0 / fan_in);
    double sum = 0, sum2 = 0, largest = 0;
    for (float v : layer.a) {
      sum += v;
      sum2 += double(v) * v;
      largest = std::max(largest, std::abs(double(v)));
    }
    const double n = double(layer.a.size());
    EXPECT_LE(largest, bound) << layer.tensor;
    EXPECT_GT(largest, 0.95 * bound) << layer.tensor;
    EXPECT_NEAR(sum / n, 0.0, 4 * bound / std::sqrt(3 * n)) << layer.tensor;
    EXPECT_NEAR(sum2 / n, bound * bound / 3, 0.15 * bound * bound / 3) << layer.tensor;  // U(-b, b) variance b^2/3
    for (float v : layer.b) ASSERT_EQ(v, 0.0f) << layer.tensor;
  }
  // query: a [N, H, r] -> fan_in N * H; attention_output [N, D, r] -> N * D; ffw_linear [F, r] -> F.
  EXPECT_EQ(state.layers()[0].layer_name, "ffw_linear");
}

TEST(LoraTraining, TargetNamesKerasAndHuggingFaceAliasesAndErrors) {
  const Gemma4Config c = builtin_tiny_config();
  LoraTrainingState a(c, 2, {"q_proj", "v_proj"});
  LoraTrainingState b(c, 2, LoraTrainingState::default_target_layer_names());
  ASSERT_EQ(a.layers().size(), b.layers().size());
  for (size_t i = 0; i < a.layers().size(); ++i) EXPECT_EQ(a.layers()[i].tensor, b.layers()[i].tensor);
  try {
    LoraTrainingState bad(c, 2, {"qkv"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'qkv'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoraTrainingState(c, 0), Error);
  EXPECT_THROW(LoraTrainingState(c, 2, {"query_dense"}), Error);  // matches nothing: no layer enabled
}

// The backward pass's view (W + scale * B' A', train/lora_state.h) is KerasHub's effective kernel.
TEST(LoraTraining, SeamParametersGiveKerasEffectiveKernel) {
  const Gemma4Config c = builtin_tiny_config();
  LoraTrainingState state(c, 3, {"query", "key", "value", "attention_output", "ffw_gating", "ffw_gating_2", "ffw_linear",
                                 "per_layer_input_gate", "per_layer_up_proj"}, 6.0f);
  randomize(state, 3);
  ASSERT_EQ(state.scale(), 2.0f);
  for (const LoraLayer& layer : state.layers()) {
    const train::LoraParameter p = train::lora_parameter(layer, state.scale());
    std::vector<double> delta(static_cast<size_t>(p.out * p.in));
    for (int64_t o = 0; o < p.out; ++o)
      for (int64_t i = 0; i < p.in; ++i) {
        double sum = 0;
        for (int64_t k = 0; k < p.rank; ++k) sum += double(p.b[o * p.rank + k]) * double(p.a[k * p.in + i]);
        delta[o * p.in + i] = p.scale * sum;
      }
    EXPECT_LE(max_diff(delta, keras_delta_in_our_layout(layer, 2.0)), 1e-5) << layer.tensor;
  }
}

// d/da, d/db from the seam's d/dA', d/dB' equal the chain rule through the KerasHub kernel: for the loss
// L = sum(G . W_eff) the gradient of the kernel delta is G, so dL/da = scale * G_k b^T and dL/db = scale * a^T G_k.
TEST(LoraTraining, SeamGradientsMapBackByTheChainRule) {
  const Gemma4Config c = builtin_tiny_config();
  LoraTrainingState state(c, 2, {"query", "attention_output"});
  randomize(state, 9);
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  for (const LoraLayer& layer : state.layers()) {
    const train::LoraParameter p = train::lora_parameter(layer, state.scale());
    std::vector<float> g(static_cast<size_t>(p.out * p.in));
    for (float& v : g) v = normal(rng);
    // PEFT gradients of sum(G . scale B'A'): dA' = scale B'^T G, dB' = scale G A'^T.
    std::vector<float> da_peft(p.a.size(), 0.0f), db_peft(p.b.size(), 0.0f);
    for (int64_t o = 0; o < p.out; ++o)
      for (int64_t i = 0; i < p.in; ++i)
        for (int64_t k = 0; k < p.rank; ++k) {
          da_peft[k * p.in + i] += p.scale * p.b[o * p.rank + k] * g[o * p.in + i];
          db_peft[o * p.rank + k] += p.scale * g[o * p.in + i] * p.a[k * p.in + i];
        }
    std::vector<float> da, db;
    train::lora_layer_gradient(layer, da_peft, db_peft, da, db);
    // By hand in the kernel layout: G moved to kernel layout as K-gradient Gk [lead, Y].
    const int64_t r = layer.rank(), Y = layer.kernel_shape.back();
    const int64_t lead = static_cast<int64_t>(layer.a.size()) / r;
    std::vector<double> gk(static_cast<size_t>(lead * Y));
    for (int64_t row = 0; row < lead; ++row)
      for (int64_t y = 0; y < Y; ++y) {
        if (layer.heads_first) {
          const int64_t X = layer.kernel_shape[1], n = row / X, x = row % X;
          gk[row * Y + y] = g[(n * Y + y) * X + x];
        } else {
          gk[row * Y + y] = g[y * lead + row];
        }
      }
    double worst_a = 0, worst_b = 0;
    for (int64_t row = 0; row < lead; ++row)
      for (int64_t k = 0; k < r; ++k) {
        double s = 0;
        for (int64_t y = 0; y < Y; ++y) s += gk[row * Y + y] * layer.b[k * Y + y];
        worst_a = std::max(worst_a, std::abs(state.scale() * s - da[row * r + k]));
      }
    for (int64_t k = 0; k < r; ++k)
      for (int64_t y = 0; y < Y; ++y) {
        double s = 0;
        for (int64_t row = 0; row < lead; ++row) s += double(layer.a[row * r + k]) * gk[row * Y + y];
        worst_b = std::max(worst_b, std::abs(state.scale() * s - db[k * Y + y]));
      }
    EXPECT_LE(worst_a, 1e-3) << layer.tensor;
    EXPECT_LE(worst_b, 1e-3) << layer.tensor;
  }
}

// Saved in each form and merged by the existing readers: the weights are W + KerasHub's delta.
void expect_saved_merge(const std::string& name, const std::vector<std::string>& targets) {
  const Gemma4Config c = builtin_tiny_config();
  TempDir dir("merge_" + std::to_string(name.size()));
  LoraTrainingState state(c, 3, targets, 0, 1);
  randomize(state, 5);
  const std::string path = dir / name;
  state.save_lora_weights(path);
  ModelWeights weights = bind_weights(c, make_random_weights(c, 11, DType::F32));
  std::vector<std::vector<double>> before;
  for (const LoraLayer& layer : state.layers()) before.push_back(matrix(tensor_of(weights, layer.tensor)));
  apply_lora(weights, read_lora_adapter(path, c));
  for (size_t i = 0; i < state.layers().size(); ++i) {
    const LoraLayer& layer = state.layers()[i];
    std::vector<double> expected = before[i];
    const std::vector<double> delta = keras_delta_in_our_layout(layer, 1.0);
    for (size_t j = 0; j < expected.size(); ++j) expected[j] += delta[j];
    EXPECT_LE(max_diff(matrix(tensor_of(weights, layer.tensor)), expected), 1e-5) << name << " " << layer.tensor;
  }
  // And read back into a state: the same factors exactly.
  const LoraTrainingState back = LoraTrainingState::from_file(path, c);
  ASSERT_EQ(back.layers().size(), state.layers().size());
  EXPECT_EQ(back.rank(), 3);
  for (size_t i = 0; i < back.layers().size(); ++i) {
    EXPECT_EQ(back.layers()[i].tensor, state.layers()[i].tensor);
    EXPECT_EQ(back.layers()[i].a, state.layers()[i].a) << name;
    EXPECT_EQ(back.layers()[i].b, state.layers()[i].b) << name;
  }
}

TEST(LoraTraining, PeftFolderMergesToKerasEffectiveKernel) { expect_saved_merge("adapter", {}); }
TEST(LoraTraining, KerasFileMergesToKerasEffectiveKernel) { expect_saved_merge("model.lora.h5", {}); }
TEST(LoraTraining, PeftFolderWithEveryTargetKind) {
  expect_saved_merge("all", {"query", "key", "value", "attention_output", "ffw_gating", "ffw_gating_2", "ffw_linear",
                             "per_layer_input_gate", "per_layer_up_proj"});
}

std::vector<float> logits(const Backbone& backbone) {
  BackboneInputs in;
  in.token_ids = {2, 17, 300, 45, 99, 7, 250, 3};
  in.sequence_length = static_cast<int64_t>(in.token_ids.size());
  return backbone.forward(in).logits;
}

double max_diff_f(const std::vector<float>& x, const std::vector<float>& y) {
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  return worst;
}

TEST(LoraTraining, BackboneApiZeroBKeepsLogitsAndBothFormsGiveTheSameLogits) {
  TempDir dir("logits");
  auto base = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& state = base->enable_lora(4);
  base->save_lora_weights(dir / "fresh");
  LoadOptions fresh;
  fresh.lora_adapters = {dir / "fresh"};
  const std::vector<float> base_logits = logits(*base);
  EXPECT_EQ(max_diff_f(logits(*Backbone::load(kBuiltinTinyModel, fresh)), base_logits), 0.0);  // B = 0

  randomize(state, 8);
  base->save_lora_weights(dir / "trained");
  base->save_lora_weights(dir / "trained.lora.h5");
  LoadOptions peft, keras;
  peft.lora_adapters = {dir / "trained"};
  keras.lora_adapters = {dir / "trained.lora.h5"};
  const std::vector<float> peft_logits = logits(*Backbone::load(kBuiltinTinyModel, peft));
  const std::vector<float> keras_logits = logits(*Backbone::load(kBuiltinTinyModel, keras));
  EXPECT_LE(max_diff_f(peft_logits, keras_logits), 1e-4);
  EXPECT_GT(max_diff_f(peft_logits, base_logits), 1e-2);

  // load_lora_weights on a fresh backbone enables LoRA with the file's rank (as KerasHub's does).
  auto other = Backbone::load(kBuiltinTinyModel);
  EXPECT_EQ(other->lora_state(), nullptr);
  other->load_lora_weights(dir / "trained.lora.h5");
  ASSERT_NE(other->lora_state(), nullptr);
  EXPECT_EQ(other->lora_state()->rank(), 4);
  EXPECT_EQ(other->lora_state()->layers()[0].b, state.layers()[0].b);
  // A rank mismatch is an error, as in KerasHub.
  auto rank2 = Backbone::load(kBuiltinTinyModel);
  rank2->enable_lora(2);
  EXPECT_THROW(rank2->load_lora_weights(dir / "trained.lora.h5"), Error);
  EXPECT_THROW(Backbone::load(kBuiltinTinyModel)->save_lora_weights(dir / "none"), Error);
}

TEST(LoraTraining, KerasFileRefusesNonDefaultTargets) {
  TempDir dir("keras_targets");
  LoraTrainingState state(builtin_tiny_config(), 2, {"ffw_linear"});
  EXPECT_THROW(state.save_lora_weights(dir / "x.lora.h5"), Error);
  EXPECT_THROW(state.save_lora_weights(dir / "x.h5"), Error);
}

}  // namespace
}  // namespace gemma4
