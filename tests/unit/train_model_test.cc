// The whole text decoder's loss gradient (src/train/gradients.h) against central finite differences of
// evaluate_loss, on tiny float32 configs with each feature on and off; evaluate_loss against the
// inference forward; checkpointing; parameters off the path; frozen weights untouched.
//
// Tolerances: directional derivatives g.u against central differences (L(p + e u) - L(p - e u)) / 2e,
// Richardson-extrapolated from e = 2e-3 and 1e-3 (error O(e^4)), u a random unit direction and each of
// the three largest single coordinates of every gradient: |g.u - numeric| <= 1e-3 |numeric| + 1e-4 L.
// The absolute floor is the float32 forward's rounding of L (measured ~1e-7 L) over 2e, times 5/3 for
// the extrapolation (4e-3 for L ~ 40); the curvature along some directions (embeddings) rules out
// larger steps. The exact LoRA check below and train_ops_test hold the precision these cannot. LoRA gradients are
// also checked exactly against the full gradient G of the same matrix: dA = s B^T G, dB = s G A^T
// (relative 1e-4).
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "loading/random_weights.h"
#include "model/kv_cache.h"
#include "model/requantize.h"
#include "model/text_model.h"
#include "model/weights.h"
#include "schema/tensor_names.h"
#include "train/gradients.h"

namespace gemma4::train {
namespace {

struct Features {
  const char* name;
  bool ple = false, kv_sharing = false, k_eq_v = false, window = false, double_wide = false, moe = false,
       soft_caps = false, partial_rope = false;
};

void PrintTo(const Features& f, std::ostream* out) { *out << f.name; }

Gemma4Config tiny_config(const Features& f) {
  Gemma4Config c;
  c.vocabulary_size = 48;
  c.num_layers = 4;
  c.num_query_heads = 2;
  c.num_key_value_heads = 1;
  c.hidden_dim = 16;
  c.intermediate_dim = 24;
  c.head_dim = 8;
  c.layer_types = {LayerType::kSliding, LayerType::kFull, LayerType::kSliding, LayerType::kFull};
  c.sliding_window_size = f.window ? 3 : 64;
  c.dtype = "float32";
  c.max_position_embeddings = 64;
  if (f.partial_rope) {
    c.global_head_dim = 16;
    c.global_rope_partial_rotary_factor = 0.25;
  }
  if (f.ple) c.hidden_size_per_layer_input = 4;
  if (f.kv_sharing || f.double_wide) c.num_kv_shared_layers = 2;
  if (f.double_wide) c.use_double_wide_mlp = true;
  if (f.k_eq_v) c.num_global_key_value_heads = 2;
  if (f.moe) {
    c.enable_moe_block = true;
    c.num_experts = 4;
    c.expert_intermediate_dim = 8;
    c.num_experts_per_token = 2;
  }
  if (f.soft_caps) {
    c.attention_logit_soft_cap = 3.0;
    c.final_logit_soft_cap = 4.0;
  }
  c.validate();
  return c;
}

TextModel make_model(const Gemma4Config& config, uint64_t seed = 5) {
  return TextModel(config, bind_weights(config, make_random_weights(config, seed, DType::F32)));
}

TrainSequence make_sequence(const Gemma4Config& config, int64_t length, uint32_t seed, bool masked) {
  std::mt19937 rng(seed);
  TrainSequence s;
  for (int64_t t = 0; t < length; ++t) s.tokens.push_back(static_cast<int32_t>(rng() % config.vocabulary_size));
  if (masked) {
    for (int64_t t = 0; t < length; ++t) s.target_mask.push_back(t % 3 != 1 ? 1 : 0);
  }
  return s;
}

std::vector<float> random_floats(size_t count, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> out(count);
  for (float& v : out) v = normal(rng);
  return out;
}

// The bound view of canonical tensor `name` (layer_scalar: a 1-element view of the float).
TensorView model_view(const TextModel& model, const std::string& name) {
  ModelWeights copy = model.weights();
  for (const TensorSpec& spec : text_tensor_specs()) {
    const int64_t layers = spec.per_layer ? model.config().num_layers : 1;
    for (int64_t layer = 0; layer < layers; ++layer) {
      if (expand_tensor_name(spec.name, layer) != name) continue;
      if (spec.role == TensorRole::kScalar) {
        TensorView view;
        view.shape = {1};
        view.data = reinterpret_cast<const uint8_t*>(&model.weights().layers[layer].layer_scalar);
        view.nbytes = sizeof(float);
        return view;
      }
      return *weight_slot(copy, spec, layer);
    }
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

FullParameter full_copy(const TextModel& model, const std::string& name) {
  const TensorView view = model_view(model, name);
  FullParameter p;
  p.tensor = name;
  p.shape = view.shape;
  p.value.resize(static_cast<size_t>(view.numel()));
  const int64_t cols = view.cols();
  for (int64_t r = 0; r < view.rows(); ++r) kernels::dequantize_row(view, r, p.value.data() + r * cols);
  return p;
}

LoraParameter random_lora(const TextModel& model, const std::string& name, int64_t rank, uint32_t seed) {
  const TensorView view = model_view(model, name);
  LoraParameter p;
  p.tensor = name;
  p.rank = rank;
  p.out = view.shape[0];
  p.in = view.shape[1];
  p.scale = 2.0f / static_cast<float>(rank);
  p.a = random_floats(static_cast<size_t>(rank * p.in), seed, 0.3f);
  p.b = random_floats(static_cast<size_t>(p.out * rank), seed + 1, 0.3f);
  return p;
}

bool has_tensor(const TextModel& model, const std::string& name) {
  const Gemma4Config& c = model.config();
  for (const auto& expected : expected_text_tensors(c)) {
    if (expected.name == name) return true;
  }
  return false;
}

// Every parameter of the test: LoRA on attention and MLP matrices, full copies of a spread of tensors.
TrainableParameters parameters_for(const TextModel& model, const Features& f) {
  TrainableParameters p;
  uint32_t seed = 100;
  for (const char* name : {"layers.0.self_attn.q_proj.weight", "layers.0.self_attn.v_proj.weight",
                           "layers.1.self_attn.k_proj.weight", "layers.3.self_attn.q_proj.weight",
                           "layers.2.self_attn.o_proj.weight", "layers.3.mlp.down_proj.weight",
                           "layers.1.mlp.up_proj.weight"}) {
    if (has_tensor(model, name)) p.lora.push_back(random_lora(model, name, 2, seed += 10));
  }
  std::vector<std::string> full = {"embed_tokens.weight", "norm.weight", "layers.1.input_layernorm.weight",
                                   "layers.0.self_attn.k_proj.weight", "layers.2.mlp.gate_proj.weight",
                                   "layers.1.self_attn.q_norm.weight", "layers.0.self_attn.k_norm.weight",
                                   "layers.3.post_feedforward_layernorm.weight", "layers.1.layer_scalar"};
  if (f.ple) {
    for (const char* name : {"embed_tokens_per_layer.weight", "per_layer_model_projection.weight",
                             "per_layer_projection_norm.weight", "layers.2.per_layer_input_gate.weight",
                             "layers.1.per_layer_projection.weight", "layers.0.post_per_layer_input_norm.weight"}) {
      full.push_back(name);
    }
  }
  if (f.moe) {
    for (const char* name : {"layers.1.router.proj.weight", "layers.1.router.scale", "layers.1.router.per_expert_scale",
                             "layers.0.experts.gate_up_proj", "layers.0.experts.down_proj",
                             "layers.2.pre_feedforward_layernorm_2.weight", "layers.2.post_feedforward_layernorm_1.weight",
                             "layers.3.post_feedforward_layernorm_2.weight"}) {
      full.push_back(name);
    }
  }
  if (f.k_eq_v) full.push_back("layers.1.self_attn.k_proj.weight");
  for (const auto& name : full) p.full.push_back(full_copy(model, name));
  if (f.moe) {
    // Random routers give near-uniform expert probabilities, where a finite-difference step can flip the
    // top-k selection (a jump in the loss). Sharpened routers keep every choice far from a tie.
    for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
      const std::string name = "layers." + std::to_string(layer) + ".router.proj.weight";
      FullParameter* router = nullptr;
      for (auto& q : p.full) router = q.tensor == name ? &q : router;
      if (router == nullptr) router = &p.full.emplace_back(full_copy(model, name));
      for (float& v : router->value) v *= 20.0f;
    }
  }
  return p;
}

// The values of every parameter as one list of pointers, with matching gradients.
struct Slot {
  std::string what;
  std::vector<float>* value;
  const std::vector<float>* gradient;
};

std::vector<Slot> slots(TrainableParameters& p, const ParameterGradients& g) {
  std::vector<Slot> out;
  for (size_t i = 0; i < p.lora.size(); ++i) {
    out.push_back({"LoRA A " + p.lora[i].tensor, &p.lora[i].a, &g.lora_a[i]});
    out.push_back({"LoRA B " + p.lora[i].tensor, &p.lora[i].b, &g.lora_b[i]});
  }
  for (size_t i = 0; i < p.full.size(); ++i) out.push_back({"full " + p.full[i].tensor, &p.full[i].value, &g.full[i]});
  return out;
}

double loss_of(const TextModel& model, const TrainableParameters& p, const TrainSequence& s) {
  return evaluate_loss(model, p, s).loss_sum;
}

// (L(p + e u) - L(p - e u)) / 2e, Richardson-extrapolated from steps 2e and e (cancels the e^2 term).
double directional_derivative(const TextModel& model, TrainableParameters& p, const TrainSequence& s,
                              std::vector<float>& value, const std::vector<float>& u, double e) {
  const std::vector<float> saved = value;
  auto central = [&](double step) {
    for (size_t i = 0; i < u.size(); ++i) value[i] = static_cast<float>(saved[i] + step * u[i]);
    const double up = loss_of(model, p, s);
    for (size_t i = 0; i < u.size(); ++i) value[i] = static_cast<float>(saved[i] - step * u[i]);
    const double down = loss_of(model, p, s);
    value = saved;
    return (up - down) / (2 * step);
  };
  return (4 * central(e) - central(2 * e)) / 3;
}

void check_against_finite_differences(const TextModel& model, TrainableParameters p, const TrainSequence& s,
                                      const BackwardOptions& options) {
  ParameterGradients g;
  const LossResult result = accumulate_gradients(model, p, s, g, options);
  ASSERT_GT(result.target_count, 0);
  EXPECT_NEAR(result.loss_sum, loss_of(model, p, s), 1e-9 * std::abs(result.loss_sum));
  const double e = 1e-3;
  // The loss is summed from float32 logits: each evaluation carries rounding noise of order 1e-7 L (a few
  // ulps summed over the targets), which the central difference divides by 2e and the Richardson weights
  // amplify further: about 3e-4 L of noise in `numeric`. A change of summation order in a kernel (the prompt
  // GEMM) moved one small directional derivative past a 1e-4 L floor.
  const double floor = 3e-4 * std::abs(result.loss_sum);
  uint32_t seed = 7;
  for (const Slot& slot : slots(p, g)) {
    std::vector<float>& value = *slot.value;
    const std::vector<float>& grad = *slot.gradient;
    ASSERT_EQ(grad.size(), value.size()) << slot.what;
    // A random unit direction.
    std::vector<float> u = random_floats(value.size(), ++seed, 1.0f);
    double norm = 0;
    for (float v : u) norm += static_cast<double>(v) * v;
    for (float& v : u) v = static_cast<float>(v / std::sqrt(norm));
    double analytic = 0;
    for (size_t i = 0; i < u.size(); ++i) analytic += static_cast<double>(grad[i]) * u[i];
    const double numeric = directional_derivative(model, p, s, value, u, e);
    EXPECT_NEAR(analytic, numeric, 1e-3 * std::abs(numeric) + floor) << slot.what << " (direction)";
    // The three largest coordinates.
    std::vector<size_t> order(grad.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const size_t count = std::min<size_t>(3, order.size());
    std::partial_sort(order.begin(), order.begin() + count, order.end(),
                      [&](size_t a, size_t b) { return std::abs(grad[a]) > std::abs(grad[b]); });
    for (size_t k = 0; k < count; ++k) {
      std::vector<float> unit(value.size(), 0.0f);
      unit[order[k]] = 1.0f;
      const double numeric_i = directional_derivative(model, p, s, value, unit, e);
      EXPECT_NEAR(grad[order[k]], numeric_i, 1e-3 * std::abs(numeric_i) + floor) << slot.what << " [" << order[k] << "]";
    }
  }
}

const Features kFeatureSets[] = {
    {"plain"},
    {"ple", true},
    {"kv_sharing", false, true},
    {"k_eq_v", false, false, true},
    {"window", false, false, false, true},
    {"double_wide", false, false, false, false, true},
    {"moe", false, false, false, false, false, true},
    {"soft_caps", false, false, false, false, false, false, true},
    {"partial_rope", false, false, false, false, false, false, false, true},
    {"everything", true, true, true, true, true, true, true, true},
};

class TrainModel : public ::testing::TestWithParam<Features> {};

TEST_P(TrainModel, GradientsMatchFiniteDifferences) {
  const Features f = GetParam();
  const TextModel model = make_model(tiny_config(f));
  const TrainableParameters p = parameters_for(model, f);
  const TrainSequence s = make_sequence(model.config(), 10, 3, /*masked=*/true);
  check_against_finite_differences(model, p, s, {});
}

TEST_P(TrainModel, EvaluateLossEqualsInferenceCrossEntropy) {
  const Features f = GetParam();
  const TextModel model = make_model(tiny_config(f));
  const TrainSequence s = make_sequence(model.config(), 12, 4, /*masked=*/true);
  const int64_t T = static_cast<int64_t>(s.tokens.size()), V = model.config().vocabulary_size;
  KvCache cache(model.config(), T, T);
  ChunkInput input;
  input.token_ids = s.tokens.data();
  input.length = T;
  std::vector<float> hidden(static_cast<size_t>(T * model.config().hidden_dim)), logits(static_cast<size_t>(T * V));
  model.forward_chunk(input, cache, hidden.data());
  model.logits(hidden.data(), T, logits.data());
  double expected = 0;
  int64_t count = 0;
  for (int64_t t = 1; t < T; ++t) {
    if (!s.target_mask[t]) continue;
    const float* row = logits.data() + (t - 1) * V;
    double max_v = *std::max_element(row, row + V), sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += std::exp(row[i] - max_v);
    expected += std::log(sum) + max_v - row[s.tokens[t]];
    ++count;
  }
  const LossResult result = evaluate_loss(model, {}, s);
  EXPECT_EQ(result.target_count, count);
  EXPECT_NEAR(result.loss_sum, expected, 1e-5 * expected);
  // Full parameters holding the stored values change nothing.
  TrainableParameters copies;
  for (const auto& q : parameters_for(model, f).full) copies.full.push_back(full_copy(model, q.tensor));
  EXPECT_NEAR(evaluate_loss(model, copies, s).loss_sum, expected, 1e-5 * expected);
}

TEST_P(TrainModel, CheckpointingGivesIdenticalGradients) {
  const Features f = GetParam();
  const TextModel model = make_model(tiny_config(f));
  const TrainableParameters p = parameters_for(model, f);
  const TrainSequence s = make_sequence(model.config(), 10, 5, false);
  ParameterGradients with, without;
  BackwardOptions on, off;
  on.checkpoint_activations = true;
  off.checkpoint_activations = false;
  const LossResult a = accumulate_gradients(model, p, s, with, on);
  const LossResult b = accumulate_gradients(model, p, s, without, off);
  EXPECT_EQ(a.loss_sum, b.loss_sum);
  EXPECT_EQ(with.lora_a, without.lora_a);
  EXPECT_EQ(with.lora_b, without.lora_b);
  EXPECT_EQ(with.full, without.full);
}

// Sequences twice as long, unmasked: many sliding windows, a longer causal history.
TEST_P(TrainModel, GradientsMatchFiniteDifferencesOnLongerSequences) {
  const Features f = GetParam();
  const TextModel model = make_model(tiny_config(f), 9);
  check_against_finite_differences(model, parameters_for(model, f), make_sequence(model.config(), 20, 8, false), {});
}

INSTANTIATE_TEST_SUITE_P(Features, TrainModel, ::testing::ValuesIn(kFeatureSets),
                         [](const ::testing::TestParamInfo<Features>& info) { return std::string(info.param.name); });

// LoRA gradients follow from the full gradient G of the same matrix: dA = s B^T G, dB = s G A^T.
TEST(TrainModelExact, LoraGradientsEqualProjectedFullGradient) {
  Features f{"everything", true, true, true, true, true, true, true, true};
  const TextModel model = make_model(tiny_config(f));
  const TrainSequence s = make_sequence(model.config(), 10, 6, true);
  for (const char* name : {"layers.0.self_attn.q_proj.weight", "layers.0.self_attn.k_proj.weight",
                           "layers.2.mlp.down_proj.weight", "embed_tokens.weight"}) {
    SCOPED_TRACE(name);
    TrainableParameters lora_only, full_only;
    lora_only.lora.push_back(random_lora(model, name, 3, 1));
    LoraParameter& l = lora_only.lora[0];
    // W + s B A as the full parameter: the same forward.
    full_only.full.push_back(full_copy(model, name));
    std::vector<float>& w = full_only.full[0].value;
    for (int64_t o = 0; o < l.out; ++o)
      for (int64_t i = 0; i < l.in; ++i)
        for (int64_t r = 0; r < l.rank; ++r) w[o * l.in + i] += l.scale * l.b[o * l.rank + r] * l.a[r * l.in + i];
    ParameterGradients gl, gf;
    const LossResult a = accumulate_gradients(model, lora_only, s, gl);
    const LossResult b = accumulate_gradients(model, full_only, s, gf);
    EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-5 * std::abs(b.loss_sum));
    const std::vector<float>& G = gf.full[0];
    double worst = 0, scale = 0;
    for (int64_t r = 0; r < l.rank; ++r) {
      for (int64_t i = 0; i < l.in; ++i) {
        double expected = 0;
        for (int64_t o = 0; o < l.out; ++o) expected += l.scale * l.b[o * l.rank + r] * G[o * l.in + i];
        worst = std::max(worst, std::abs(expected - gl.lora_a[0][r * l.in + i]));
        scale = std::max(scale, std::abs(expected));
      }
    }
    for (int64_t o = 0; o < l.out; ++o) {
      for (int64_t r = 0; r < l.rank; ++r) {
        double expected = 0;
        for (int64_t i = 0; i < l.in; ++i) expected += l.scale * G[o * l.in + i] * l.a[r * l.in + i];
        worst = std::max(worst, std::abs(expected - gl.lora_b[0][o * l.rank + r]));
        scale = std::max(scale, std::abs(expected));
      }
    }
    ASSERT_GT(scale, 1e-3);
    EXPECT_LE(worst, 1e-4 * scale);
  }
}

uint64_t hash_bytes(uint64_t h, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

uint64_t weights_hash(const TextModel& model) {
  uint64_t h = 14695981039346656037ull;
  const auto& source = *model.weights().source;
  for (const auto& name : source.names()) {
    const TensorView& view = source.find(name)->view;
    h = hash_bytes(h, view.data, view.nbytes);
  }
  for (const auto& expected : expected_text_tensors(model.config())) {
    const TensorView view = model_view(model, expected.name);
    h = hash_bytes(h, view.data, view.nbytes);
  }
  return h;
}

TEST(TrainModelFrozen, StoredWeightsAreNeverWritten) {
  Features f{"everything", true, true, true, true, true, true, true, true};
  for (DType storage : {DType::F32, DType::BF16, DType::Q8_0}) {
    Gemma4Config config = tiny_config(f);
    config.hidden_dim = 32;  // Q8_0 rows need a multiple of 32
    config.intermediate_dim = 32;
    config.head_dim = 32;
    config.global_head_dim = 32;
    config.expert_intermediate_dim = 32;
    config.hidden_size_per_layer_input = 32;
    // make_random_weights writes float types only: quantized models are requantized from float32.
    ModelWeights weights = bind_weights(config, make_random_weights(config, 2, storage == DType::Q8_0 ? DType::F32 : storage));
    if (storage == DType::Q8_0) requantize_matrices(weights, DType::Q8_0);
    const TextModel model(config, std::move(weights));
    const uint64_t before = weights_hash(model);
    TrainableParameters p;
    p.lora.push_back(random_lora(model, "layers.0.self_attn.q_proj.weight", 2, 3));
    p.lora.push_back(random_lora(model, "embed_tokens.weight", 2, 5));
    ParameterGradients g;
    const LossResult result = accumulate_gradients(model, p, make_sequence(config, 8, 1, false), g);
    EXPECT_GT(result.loss_sum, 0) << dtype_name(storage);
    EXPECT_EQ(weights_hash(model), before) << dtype_name(storage);
  }
}

TEST(TrainModelPaths, NoTargetsGiveZeroLossAndZeroGradients) {
  const TextModel model = make_model(tiny_config({"plain"}));
  TrainableParameters p;
  p.lora.push_back(random_lora(model, "layers.0.self_attn.q_proj.weight", 2, 3));
  TrainSequence s = make_sequence(model.config(), 6, 2, false);
  s.target_mask.assign(6, 0);
  s.target_mask[0] = 1;  // position 0 is never a target (nothing predicts it)
  ParameterGradients g;
  const LossResult result = accumulate_gradients(model, p, s, g);
  EXPECT_EQ(result.target_count, 0);
  EXPECT_EQ(result.loss_sum, 0.0);
  ASSERT_EQ(g.lora_a.size(), 1u);
  EXPECT_EQ(g.lora_a[0], std::vector<float>(p.lora[0].a.size(), 0.0f));
  EXPECT_EQ(g.lora_b[0], std::vector<float>(p.lora[0].b.size(), 0.0f));
}

TEST(TrainModelPaths, ZeroLoraBGivesZeroAGradient) {
  // KerasHub initialises B to zeros: the first step moves only B.
  const TextModel model = make_model(tiny_config({"plain"}));
  TrainableParameters p;
  p.lora.push_back(random_lora(model, "layers.1.self_attn.v_proj.weight", 4, 3));
  std::fill(p.lora[0].b.begin(), p.lora[0].b.end(), 0.0f);
  ParameterGradients g;
  accumulate_gradients(model, p, make_sequence(model.config(), 8, 2, false), g);
  EXPECT_EQ(g.lora_a[0], std::vector<float>(p.lora[0].a.size(), 0.0f));
  double norm = 0;
  for (float v : g.lora_b[0]) norm += v * v;
  EXPECT_GT(norm, 1e-8);
}

TEST(TrainModelPaths, LastTokenInfluencesNoTarget) {
  // The last position predicts nothing, and no earlier query sees its key: its per-layer embedding row
  // gets exactly zero gradient, while the rows of the earlier tokens do not.
  const TextModel model = make_model(tiny_config({"ple", true}));
  TrainSequence s;
  s.tokens = {3, 4, 5, 6, 7, 9};
  TrainableParameters p;
  p.full.push_back(full_copy(model, "embed_tokens_per_layer.weight"));
  ParameterGradients g;
  accumulate_gradients(model, p, s, g);
  const int64_t row = model.config().num_layers * model.config().hidden_size_per_layer_input;
  auto row_norm = [&](int32_t id) {
    double n = 0;
    for (int64_t i = 0; i < row; ++i) n += std::abs(g.full[0][id * row + i]);
    return n;
  };
  EXPECT_EQ(row_norm(9), 0.0);
  EXPECT_GT(row_norm(7), 0.0);
  EXPECT_GT(row_norm(3), 0.0);
  EXPECT_EQ(row_norm(10), 0.0);  // not in the sequence
}

TEST(TrainModelPaths, GradientsAccumulateAcrossCalls) {
  const TextModel model = make_model(tiny_config({"plain"}));
  TrainableParameters p;
  p.lora.push_back(random_lora(model, "layers.0.self_attn.q_proj.weight", 2, 3));
  const TrainSequence s = make_sequence(model.config(), 8, 2, false);
  ParameterGradients once, twice;
  accumulate_gradients(model, p, s, once);
  accumulate_gradients(model, p, s, twice);
  accumulate_gradients(model, p, s, twice);
  for (size_t i = 0; i < once.lora_a[0].size(); ++i) EXPECT_FLOAT_EQ(twice.lora_a[0][i], 2 * once.lora_a[0][i]);
}

TEST(TrainModelErrors, BadParametersAndSequencesAreNamed) {
  const TextModel model = make_model(tiny_config({"kv_sharing", false, true}));
  const TrainSequence s = make_sequence(model.config(), 6, 2, false);
  auto expect_error = [&](const TrainableParameters& p, const TrainSequence& seq, const std::string& fragment) {
    ParameterGradients g;
    try {
      accumulate_gradients(model, p, seq, g);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  TrainableParameters shared;  // KV-shared layers have no k_proj
  LoraParameter l = random_lora(model, "layers.0.self_attn.k_proj.weight", 2, 1);
  l.tensor = "layers.3.self_attn.k_proj.weight";
  shared.lora.push_back(l);
  expect_error(shared, s, "layers.3.self_attn.k_proj.weight");
  TrainableParameters unknown;
  unknown.full.push_back(full_copy(model, "norm.weight"));
  unknown.full[0].tensor = "layers.0.nonsense.weight";
  expect_error(unknown, s, "layers.0.nonsense.weight");
  TrainableParameters wrong_shape;
  wrong_shape.lora.push_back(random_lora(model, "layers.0.self_attn.q_proj.weight", 2, 1));
  wrong_shape.lora[0].in += 1;
  expect_error(wrong_shape, s, "do not fit");
  TrainableParameters lora_on_norm;
  lora_on_norm.lora.push_back(random_lora(model, "layers.0.self_attn.q_proj.weight", 2, 1));
  lora_on_norm.lora[0].tensor = "norm.weight";
  expect_error(lora_on_norm, s, "not to vectors");
  TrainableParameters twice;
  twice.full.push_back(full_copy(model, "norm.weight"));
  twice.full.push_back(full_copy(model, "norm.weight"));
  expect_error(twice, s, "twice");
  TrainSequence bad = s;
  bad.tokens[2] = 48;
  expect_error({}, bad, "token id 48 at position 2");
  bad = s;
  bad.target_mask = {1, 1};
  expect_error({}, bad, "target_mask");
}

}  // namespace
}  // namespace gemma4::train
