// LoRA adapters: PEFT folders and KerasHub .lora.h5 files read, checked and merged into the weights.
// Expected merged matrices are recomputed here in double from the adapter factors as each format
// defines them (PEFT: W + alpha/r * B A; KerasHub EinsumDense: kernel + alpha/r * a @ b).
#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gemma4/lora.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include <gemma4/npy.h>
#include "model/backbone_parts.h"
#include "model/lora_merge.h"
#include "formats/safetensors.h"
#include "kernels/matmul.h"
#include "loading/builtin_model.h"
#include "loading/random_weights.h"
#include "model/requantize.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(fs::temp_directory_path() / ("gemma4_lora_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::vector<float> random_values(int64_t count, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = normal(rng);
  return values;
}

std::vector<double> matrix_as_double(const TensorView& view) {
  std::vector<float> row(static_cast<size_t>(view.cols()));
  std::vector<double> out;
  for (int64_t r = 0; r < view.rows(); ++r) {
    kernels::dequantize_row(view, r, row.data());
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

ModelWeights random_model_weights(const Gemma4Config& config, DType storage) {
  return bind_weights(config, make_random_weights(config, 11, storage));
}

// One PEFT module's factors: A [r, in], B [out, r].
struct PeftModule {
  std::string module;  // e.g. "layers.0.self_attn.q_proj"
  int64_t out, in, rank;
  std::vector<float> a, b;
};

PeftModule make_module(const std::string& module, int64_t out, int64_t in, int64_t rank, uint32_t seed) {
  return {module, out, in, rank, random_values(rank * in, seed, 0.3f), random_values(out * rank, seed + 1, 0.3f)};
}

void write_peft(const std::string& folder, const std::vector<PeftModule>& modules, const std::string& config_json) {
  fs::create_directories(folder);
  if (!config_json.empty()) std::ofstream(folder + "/adapter_config.json") << config_json;
  std::vector<NamedTensor> tensors;
  for (const PeftModule& m : modules) {
    const std::string name = "base_model.model.model.language_model." + m.module;
    TensorView a{DType::F32, {m.rank, m.in}, reinterpret_cast<const uint8_t*>(m.a.data()), m.a.size() * 4};
    TensorView b{DType::F32, {m.out, m.rank}, reinterpret_cast<const uint8_t*>(m.b.data()), m.b.size() * 4};
    tensors.push_back({name + ".lora_A.weight", a});
    tensors.push_back({name + ".lora_B.weight", b});
  }
  write_safetensors(folder + "/adapter_model.safetensors", tensors);
}

// W + scale * B A in double.
std::vector<double> peft_expected(const std::vector<double>& w, const PeftModule& m, double scale) {
  std::vector<double> out = w;
  for (int64_t o = 0; o < m.out; ++o) {
    for (int64_t i = 0; i < m.in; ++i) {
      double sum = 0;
      for (int64_t r = 0; r < m.rank; ++r) sum += double(m.b[o * m.rank + r]) * double(m.a[r * m.in + i]);
      out[o * m.in + i] += scale * sum;
    }
  }
  return out;
}

double max_abs_diff(const std::vector<double>& x, const std::vector<double>& y) {
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

std::string expect_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected gemma4::Error";
  return "";
}

const char* kPeftConfig = R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"]})";

std::vector<PeftModule> two_modules(const Gemma4Config& c) {
  return {make_module("layers.0.self_attn.q_proj", c.num_query_heads * c.layer_head_dim(0), c.hidden_dim, 4, 1),
          make_module("layers.2.mlp.down_proj", c.hidden_dim, c.ffn_width(2), 4, 5)};
}

TEST(Lora, PeftMergeEqualsWPlusScaledBA) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("peft");
  const auto modules = two_modules(config);
  write_peft(dir / "adapter", modules, kPeftConfig);

  ModelWeights weights = random_model_weights(config, DType::F32);
  const auto q_before = matrix_as_double(weights.layers[0].q_proj);
  const auto down_before = matrix_as_double(weights.layers[2].down_proj);
  const uint8_t* k_before = weights.layers[0].k_proj.data;

  const LoraAdapter adapter = read_lora_adapter(dir / "adapter", config);
  ASSERT_EQ(adapter.targets.size(), 2u);
  apply_lora(weights, adapter);
  // alpha / r = 8 / 4.
  EXPECT_LE(max_abs_diff(matrix_as_double(weights.layers[0].q_proj), peft_expected(q_before, modules[0], 2.0)), 1e-5);
  EXPECT_LE(max_abs_diff(matrix_as_double(weights.layers[2].down_proj), peft_expected(down_before, modules[1], 2.0)), 1e-5);
  EXPECT_GT(max_abs_diff(matrix_as_double(weights.layers[0].q_proj), q_before), 0.1);  // the adapter does something
  EXPECT_EQ(weights.layers[0].k_proj.data, k_before);  // untouched matrices keep their bytes
}

TEST(Lora, PeftScalesRsloraAndAlphaPattern) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("scales");
  const auto modules = two_modules(config);
  write_peft(dir / "rs", modules, R"({"r": 4, "lora_alpha": 8, "use_rslora": true})");
  write_peft(dir / "pattern", modules, R"({"r": 4, "lora_alpha": 8, "alpha_pattern": {"down_proj": 2}})");
  const LoraAdapter rs = read_peft_adapter(dir / "rs", config);
  for (const LoraTarget& t : rs.targets) EXPECT_FLOAT_EQ(t.scale, 8.0f / 2.0f) << t.tensor;  // alpha / sqrt(r)
  const LoraAdapter pattern = read_peft_adapter(dir / "pattern", config);
  for (const LoraTarget& t : pattern.targets) {
    EXPECT_FLOAT_EQ(t.scale, t.tensor.find("down_proj") != std::string::npos ? 0.5f : 2.0f) << t.tensor;
  }
}

TEST(Lora, Bf16MergeIsRoundedOnce) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("bf16");
  const auto modules = two_modules(config);
  write_peft(dir / "adapter", modules, kPeftConfig);
  ModelWeights weights = random_model_weights(config, DType::BF16);
  const auto before = matrix_as_double(weights.layers[0].q_proj);
  apply_lora(weights, read_lora_adapter(dir / "adapter", config));
  ASSERT_EQ(weights.layers[0].q_proj.dtype, DType::BF16);
  const auto expected = peft_expected(before, modules[0], 2.0);
  const auto merged = matrix_as_double(weights.layers[0].q_proj);
  for (size_t i = 0; i < merged.size(); ++i) {
    ASSERT_LE(std::abs(merged[i] - expected[i]), std::abs(expected[i]) * 0x1p-8 + 1e-6) << i;  // half a bf16 ulp
  }
}

TEST(Lora, Q8MergeIsRequantizedRowByRow) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("q8");
  const auto modules = two_modules(config);
  write_peft(dir / "adapter", modules, kPeftConfig);
  ModelWeights weights = random_model_weights(config, DType::F32);
  requantize_matrices(weights, DType::Q8_0);
  const auto before = matrix_as_double(weights.layers[0].q_proj);  // the Q8_0 values
  apply_lora(weights, read_lora_adapter(dir / "adapter", config));
  ASSERT_EQ(weights.layers[0].q_proj.dtype, DType::Q8_0);
  const auto expected = peft_expected(before, modules[0], 2.0);
  const auto merged = matrix_as_double(weights.layers[0].q_proj);
  // Each block of 32 is re-quantized with step d = amax / 127, q = round(x / d), stored as q * f16(d): off by
  // at most d / 2 plus |q| <= 127 times the f16 rounding of d (d * 2^-11).
  for (size_t block = 0; block < merged.size(); block += 32) {
    double amax = 0;
    for (size_t i = block; i < block + 32; ++i) amax = std::max(amax, std::abs(expected[i]));
    const double bound = amax / 127 * (0.5 + 127.0 / 2048) + 1e-6;
    for (size_t i = block; i < block + 32; ++i) ASSERT_LE(std::abs(merged[i] - expected[i]), bound) << i;
  }
}

TEST(Lora, ForwardWithMergedAdapterMatchesTestMergedWeights) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("forward");
  const auto modules = two_modules(config);
  write_peft(dir / "adapter", modules, kPeftConfig);

  ModelWeights merged = random_model_weights(config, DType::F32);
  apply_lora(merged, read_lora_adapter(dir / "adapter", config));

  // The same merge done by hand into buffers the test owns.
  ModelWeights by_hand = random_model_weights(config, DType::F32);
  ModelWeights base = random_model_weights(config, DType::F32);
  for (size_t m = 0; m < modules.size(); ++m) {
    TensorView& view = m == 0 ? by_hand.layers[0].q_proj : by_hand.layers[2].down_proj;
    const auto expected = peft_expected(matrix_as_double(view), modules[m], 2.0);
    std::vector<uint8_t>& buffer = by_hand.source->new_buffer(expected.size() * sizeof(float));
    float* values = reinterpret_cast<float*>(buffer.data());
    for (size_t i = 0; i < expected.size(); ++i) values[i] = static_cast<float>(expected[i]);
    view.data = buffer.data();
  }
  auto logits = [&](ModelWeights weights) {
    const auto built = text_backbone(std::make_unique<TextModel>(config, std::move(weights)));
    const Backbone& backbone = *built;
    BackboneInputs inputs;
    inputs.token_ids = {2, 17, 300, 45, 9, 123, 77, 5};
    inputs.sequence_length = static_cast<int64_t>(inputs.token_ids.size());
    return backbone.forward(inputs).logits;
  };
  const auto with_lora = logits(std::move(merged));
  const auto reference = logits(std::move(by_hand));
  const auto without = logits(std::move(base));
  float worst = 0, change = 0;
  for (size_t i = 0; i < with_lora.size(); ++i) {
    worst = std::max(worst, std::abs(with_lora[i] - reference[i]));
    change = std::max(change, std::abs(with_lora[i] - without[i]));
  }
  EXPECT_LE(worst, 1e-4);
  EXPECT_GT(change, 0.1);
}

TEST(Lora, PeftErrorsNameFileTensorAndShapes) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("errors");
  const int64_t q_out = config.num_query_heads * config.layer_head_dim(0);

  write_peft(dir / "no_config", two_modules(config), "");
  EXPECT_NE(expect_error([&] { read_lora_adapter(dir / "no_config", config); }).find("no adapter_config.json"),
            std::string::npos);

  write_peft(dir / "wrong_in", {make_module("layers.0.self_attn.q_proj", q_out, config.hidden_dim + 1, 4, 1)}, kPeftConfig);
  std::string message = expect_error([&] { read_lora_adapter(dir / "wrong_in", config); });
  EXPECT_NE(message.find("lora_A.weight has shape [4, 65], expected [4, 64]"), std::string::npos) << message;
  EXPECT_NE(message.find("adapter_model.safetensors"), std::string::npos) << message;

  write_peft(dir / "wrong_out", {make_module("layers.0.self_attn.q_proj", q_out * 2, config.hidden_dim, 4, 1)}, kPeftConfig);
  message = expect_error([&] { read_lora_adapter(dir / "wrong_out", config); });
  EXPECT_NE(message.find("lora_B.weight has shape [128, 4], expected [64, 4]"), std::string::npos) << message;

  write_peft(dir / "rank", two_modules(config), R"({"r": 8, "lora_alpha": 8})");
  message = expect_error([&] { read_lora_adapter(dir / "rank", config); });
  EXPECT_NE(message.find("rank r=8"), std::string::npos) << message;

  write_peft(dir / "unknown", {make_module("layers.0.self_attn.qkv_proj", q_out, config.hidden_dim, 4, 1)}, kPeftConfig);
  message = expect_error([&] { read_lora_adapter(dir / "unknown", config); });
  EXPECT_NE(message.find("unknown target module"), std::string::npos) << message;
  EXPECT_NE(message.find("qkv_proj"), std::string::npos) << message;

  // KV-shared layers (4 and 5 here) have no k/v projections of their own.
  write_peft(dir / "shared", {make_module("layers.5.self_attn.v_proj", 32, config.hidden_dim, 4, 1)}, kPeftConfig);
  message = expect_error([&] { read_lora_adapter(dir / "shared", config); });
  EXPECT_NE(message.find("unknown target module"), std::string::npos) << message;

  write_peft(dir / "dora", two_modules(config), R"({"r": 4, "lora_alpha": 8, "use_dora": true})");
  EXPECT_NE(expect_error([&] { read_lora_adapter(dir / "dora", config); }).find("DoRA"), std::string::npos);
}

TEST(Lora, EncoderTargetsAreRefusedOrSkipped) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("encoder");
  // "base_model.model.model.language_model.<x>" is what write_peft writes; use a vision module instead.
  const std::vector<float> a = random_values(4 * 8, 1, 0.3f), b = random_values(8 * 4, 2, 0.3f);
  fs::create_directories(dir / "adapter");
  std::ofstream(dir / "adapter/adapter_config.json") << kPeftConfig;
  const std::string name = "base_model.model.model.vision_tower.encoder.layers.0.self_attn.q_proj.linear";
  write_safetensors(dir / "adapter/adapter_model.safetensors",
                    {{name + ".lora_A.weight", {DType::F32, {4, 8}, reinterpret_cast<const uint8_t*>(a.data()), 128}},
                     {name + ".lora_B.weight", {DType::F32, {8, 4}, reinterpret_cast<const uint8_t*>(b.data()), 128}}});
  const std::string message = expect_error([&] { read_lora_adapter(dir / "adapter", config); });
  EXPECT_NE(message.find("vision/audio encoder"), std::string::npos) << message;
  LoraReadOptions skip;
  skip.skip_encoder_targets = true;
  EXPECT_TRUE(read_lora_adapter(dir / "adapter", config, skip).targets.empty());
}

// ---------------------------------------------------------------------------------------------------
// KerasHub: the layout Backbone.save_lora_weights writes (keras_hub/src/models/backbone.py) through
// keras' H5IOStore (keras/src/saving/saving_lib.py): "lora/vars/rank", "lora/<i>/vars/lora_kernel_a"
// [heads, in, r] and ".../lora_kernel_b" [r, head_dim] (keras/src/layers/core/einsum_dense.py enable_lora),
// <i> the layer's index among layers with weights; per decoder block the value layer comes first.

const char* kWriteKerasLora = R"(
import sys, numpy as np, h5py
folder, out, rank = sys.argv[1], sys.argv[2], int(sys.argv[3])
indices = [int(x) for x in sys.argv[4].split(",")]
with h5py.File(out, "w") as f:
    f.create_group("lora").create_group("vars")["rank"] = np.int64(rank)
    for i in indices:
        g = f["lora"].create_group(str(i)).create_group("vars")
        g["lora_kernel_a"] = np.load(f"{folder}/a{i}.npy")
        g["lora_kernel_b"] = np.load(f"{folder}/b{i}.npy")
)";

struct KerasEntry {
  int64_t index;
  std::string tensor;
  int64_t heads, head_dim;
  std::vector<float> a, b;  // [heads, in, r], [r, head_dim]
};

// The builtin model's query/value layers in KerasHub's order, with random factors, written as a .lora.h5.
std::vector<KerasEntry> write_keras_lora(const Gemma4Config& c, const TempDir& dir, const std::string& out, int64_t rank,
                                         int64_t a_rank) {
  std::vector<KerasEntry> entries;
  int64_t index = 7;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string prefix = "layers." + std::to_string(l) + ".self_attn.";
    if (!c.is_kv_shared(l)) entries.push_back({index += 9, prefix + "v_proj.weight", c.layer_kv_heads(l), c.layer_head_dim(l)});
    entries.push_back({index += 9, prefix + "q_proj.weight", c.num_query_heads, c.layer_head_dim(l)});
  }
  std::string list;
  for (KerasEntry& e : entries) {
    e.a = random_values(e.heads * c.hidden_dim * a_rank, static_cast<uint32_t>(e.index), 0.3f);
    e.b = random_values(rank * e.head_dim, static_cast<uint32_t>(e.index + 1000), 0.3f);
    write_npy(dir / ("a" + std::to_string(e.index) + ".npy"), {e.heads, c.hidden_dim, a_rank}, e.a.data());
    write_npy(dir / ("b" + std::to_string(e.index) + ".npy"), {rank, e.head_dim}, e.b.data());
    list += (list.empty() ? "" : ",") + std::to_string(e.index);
  }
  std::ofstream(dir / "write_lora.py") << kWriteKerasLora;
  const std::string command = "/usr/bin/python3 '" + (dir / "write_lora.py") + "' '" + dir.str() + "' '" + out + "' " +
                              std::to_string(rank) + " " + list;
  EXPECT_EQ(std::system(command.c_str()), 0) << command << " failed (it needs python3-numpy and python3-h5py)";
  return entries;
}

void expect_keras_merge(const Gemma4Config& config, const std::string& tag) {
  TempDir dir(tag);
  const int64_t rank = 3;
  const auto entries = write_keras_lora(config, dir, dir / "model.lora.h5", rank, rank);
  ModelWeights weights = random_model_weights(config, DType::F32);
  std::map<std::string, std::vector<double>> before;
  for (const KerasEntry& e : entries) {
    const int64_t l = std::stoll(e.tensor.substr(7));
    before[e.tensor] = matrix_as_double(e.tensor.find("q_proj") != std::string::npos ? weights.layers[l].q_proj
                                                                                      : weights.layers[l].v_proj);
  }
  const LoraAdapter adapter = read_lora_adapter(dir / "model.lora.h5", config);
  ASSERT_EQ(adapter.targets.size(), entries.size());
  apply_lora(weights, adapter);
  const int64_t in = config.hidden_dim;
  for (const KerasEntry& e : entries) {
    const int64_t l = std::stoll(e.tensor.substr(7));
    const TensorView& view = e.tensor.find("q_proj") != std::string::npos ? weights.layers[l].q_proj : weights.layers[l].v_proj;
    // kernel[n, d, h] + (alpha / r = 1) * sum_r a[n, d, r] b[r, h], and HF row n * head_dim + h holds kernel[n, :, h].
    std::vector<double> expected = before[e.tensor];
    for (int64_t n = 0; n < e.heads; ++n) {
      for (int64_t h = 0; h < e.head_dim; ++h) {
        for (int64_t d = 0; d < in; ++d) {
          double sum = 0;
          for (int64_t r = 0; r < rank; ++r) sum += double(e.a[(n * in + d) * rank + r]) * double(e.b[r * e.head_dim + h]);
          expected[(n * e.head_dim + h) * in + d] += sum;
        }
      }
    }
    EXPECT_LE(max_abs_diff(matrix_as_double(view), expected), 1e-5) << e.tensor;
    EXPECT_GT(max_abs_diff(matrix_as_double(view), before[e.tensor]), 0.1) << e.tensor;
  }
}

TEST(Lora, KerasHubLoraFileMergesPerHead) { expect_keras_merge(builtin_tiny_config(), "keras"); }

// With as many K/V heads as query heads, query and value factors have the same shapes, so only the
// layer order (value before query in each block) tells them apart.
TEST(Lora, KerasHubOrderDecidesWhenQueryAndValueShapesAgree) {
  Gemma4Config config = builtin_tiny_config();
  config.num_key_value_heads = config.num_query_heads;
  config.validate();
  expect_keras_merge(config, "keras_mha");
}

TEST(Lora, KerasHubRankMismatchAndWrongModelAreErrors) {
  const Gemma4Config config = builtin_tiny_config();
  TempDir dir("keras_bad");
  write_keras_lora(config, dir, dir / "bad_rank.lora.h5", 3, 5);
  std::string message = expect_error([&] { read_lora_adapter(dir / "bad_rank.lora.h5", config); });
  EXPECT_NE(message.find("ranks must match"), std::string::npos) << message;

  write_keras_lora(config, dir, dir / "good.lora.h5", 3, 3);
  Gemma4Config other = config;
  other.num_query_heads = 8;
  message = expect_error([&] { read_lora_adapter(dir / "good.lora.h5", other); });
  EXPECT_NE(message.find("do not match this model's"), std::string::npos) << message;
}

}  // namespace
}  // namespace gemma4
