// KerasHub preset folders: the real presets KerasHub wrote for the golden fixtures load into the same
// tensors as the fixtures' Hugging Face safetensors, run to KerasHub's outputs, and the sharded and
// bfloat16/float16 forms Keras writes (made here by tests/formats/write_keras_preset.py) load alike.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <unistd.h>

#include <gemma4/npy.h>
#include "formats/keras_h5.h"
#include "formats/keras_names.h"
#include "formats/model_folder.h"
#include "loading/open_checkpoint.h"
#include "formats/safetensors.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / name; }
fs::path preset(const std::string& name) { return fixture(name) / "keras_preset"; }

// A fresh folder under the system temp dir, removed when the test ends.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(fs::temp_directory_path() / ("gemma4_keras_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs tests/formats/write_keras_preset.py; fails the test if it does not succeed.
void write_preset(const fs::path& src, const fs::path& out, const std::string& options) {
  const std::string script = std::string(GEMMA4_SOURCE_DIR) + "/tests/formats/write_keras_preset.py";
  const std::string command = "/usr/bin/python3 '" + script + "' '" + src.string() + "' '" + out.string() + "' " + options;
  ASSERT_EQ(std::system(command.c_str()), 0) << command << " failed (it needs python3-numpy and python3-h5py)";
}

std::vector<float> as_floats(const TensorView& view) {
  std::vector<float> out(static_cast<size_t>(view.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t half = 0;
    switch (view.dtype) {
      case DType::F32: std::memcpy(&out[i], view.data + 4 * i, 4); break;
      case DType::BF16: std::memcpy(&half, view.data + 2 * i, 2); out[i] = bf16_to_f32(half); break;
      case DType::F16: std::memcpy(&half, view.data + 2 * i, 2); out[i] = f16_to_f32(half); break;
      default: ADD_FAILURE() << "unexpected dtype " << dtype_name(view.dtype); return out;
    }
  }
  return out;
}

std::set<std::string> name_set(const WeightSource& source) {
  auto names = source.names();
  return {names.begin(), names.end()};
}

// Every tensor of `actual` equals the one of the same name in `expected` (same shape; values after
// rounding the expected float32 to `stored` type), and both hold the same names.
void expect_same_tensors(const WeightSource& expected, const WeightSource& actual, DType stored = DType::F32) {
  EXPECT_EQ(name_set(expected), name_set(actual));
  for (const auto& name : actual.names()) {
    const SourceTensor* want = expected.find(name);
    if (want == nullptr) continue;
    const TensorView& got = actual.find(name)->view;
    // Hugging Face keeps 0-d clip scalars as []; both sides must agree exactly.
    if (got.dtype != stored || got.shape != want->view.shape) {
      ADD_FAILURE() << name << ": got " << dtype_name(got.dtype) << " " << shape_to_string(got.shape) << ", expected "
                    << dtype_name(stored) << " " << shape_to_string(want->view.shape);
      continue;
    }
    const auto want_values = as_floats(want->view);
    const auto got_values = as_floats(got);
    size_t mismatches = 0;
    for (size_t i = 0; i < got_values.size(); ++i) {
      const float rounded = round_to_dtype(want_values[i], stored);
      if (std::memcmp(&rounded, &got_values[i], 4) != 0) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0u) << name << ": " << mismatches << " of " << got_values.size() << " values differ";
  }
}

struct KerasRead {
  std::shared_ptr<WeightSource> weights = std::make_shared<WeightSource>();
  std::vector<std::string> unclaimed;
};

KerasRead read_keras(const fs::path& folder) {
  KerasRead read;
  const Gemma4Config config = config_from_file((folder / "config.json").string());
  const fs::path weights = fs::exists(folder / "model.weights.json") ? folder / "model.weights.json" : folder / "model.weights.h5";
  auto store = KerasH5Store::open(weights.string());
  read.unclaimed = map_keras_weights(*store, config, *read.weights);
  return read;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class KerasFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(KerasFixture, EveryTensorEqualsTheHuggingFaceOneBitForBit) {
  const WeightSource hf = read_safetensors_folder(fixture(GetParam()).string());
  const KerasRead keras = read_keras(preset(GetParam()));
  EXPECT_TRUE(keras.unclaimed.empty()) << "first unclaimed: " << keras.unclaimed.front();
  EXPECT_EQ(keras.weights->size(), hf.size());
  expect_same_tensors(hf, *keras.weights);
}

INSTANTIATE_TEST_SUITE_P(Keras, KerasFixture,
                         ::testing::Values("text_all", "embedding", "vision", "audio", "multimodal_all"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(KerasPreset, LoadsAsAKerasHubModelWithItsConfig) {
  const Checkpoint loaded = open_checkpoint(preset("multimodal_all").string());
  EXPECT_EQ(loaded.format, "kerashub");
  EXPECT_EQ(loaded.config.num_layers, 8);
  EXPECT_EQ(loaded.config.dtype, "float32");
  EXPECT_TRUE(loaded.weights->contains("vision_tower.std_scale"));
  EXPECT_TRUE(loaded.weights->contains("embed_audio.embedding_projection.weight"));
  EXPECT_EQ(loaded.tokenizer.file, "");
}

// Compares within 1e-4 of the largest expected magnitude.
void expect_close(const std::vector<float>& got, const fs::path& npy) {
  const NpyArray want = read_npy(npy.string());
  ASSERT_EQ(got.size(), want.values.size()) << npy;
  double scale = 0, worst = 0;
  for (double v : want.values) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want.values[i]));
  std::printf("%s: max abs error %.3g, max magnitude %.3g\n", npy.string().c_str(), worst, scale);
  EXPECT_LE(worst, 1e-4 * scale) << npy << ": max abs error " << worst << " vs max magnitude " << scale;
}

BackboneInputs fixture_inputs(const std::string& name) {
  const fs::path inputs = fixture(name) / "inputs";
  const NpyArray tokens = read_npy((inputs / "token_ids.npy").string());
  const NpyArray mask = read_npy((inputs / "padding_mask.npy").string());
  const NpyArray positions = read_npy((inputs / "position_ids.npy").string());
  BackboneInputs in;
  in.batch_size = tokens.shape.at(0);
  in.sequence_length = tokens.shape.at(1);
  for (double v : tokens.values) in.token_ids.push_back(static_cast<int32_t>(v));
  for (double v : mask.values) in.padding_mask.push_back(static_cast<int32_t>(v));
  for (double v : positions.values) in.position_ids.push_back(static_cast<int32_t>(v));
  return in;
}

// KerasHub's own outputs, reproduced from the Hugging Face files and from the KerasHub preset folder
// (same weights): both samples of the batch, sample 1 right-padded, every layer's output.
void expect_reproduces_fixture(const std::string& name, const fs::path& folder) {
  SCOPED_TRACE(folder.string());
  auto backbone = Backbone::from_folder(folder.string());
  ForwardOptions options;
  options.keep_hidden_states = true;
  const BackboneOutputs out = backbone->forward(fixture_inputs(name), options);
  const fs::path outputs = fixture(name) / "outputs";
  expect_close(out.logits, outputs / "logits.npy");
  expect_close(out.sequence_output, outputs / "sequence_output.npy");
  expect_close(out.hidden_states, outputs / "hidden_states.npy");
  if (backbone->config().is_embedding_model) expect_close(out.pooled_output, outputs / "pooled_output.npy");
}

TEST(KerasHubGolden, TextAllReproducesKerasHubOutputs) {
  expect_reproduces_fixture("text_all", fixture("text_all"));
  expect_reproduces_fixture("text_all", preset("text_all"));
}

TEST(KerasHubGolden, EmbeddingModelReproducesKerasHubOutputs) {
  expect_reproduces_fixture("embedding", fixture("embedding"));
  expect_reproduces_fixture("embedding", preset("embedding"));
}

TEST(KerasPreset, ShardedPresetLoadsIdentically) {
  TempDir dir("sharded");
  // 4 KiB shards put each MoE bank variable in its own shard, so one object spans several shards.
  write_preset(preset("text_all"), dir.path(), "--shard-bytes 4096");
  ASSERT_TRUE(fs::exists(dir.path() / "model_00001.weights.h5"));
  ASSERT_FALSE(fs::exists(dir.path() / "model.weights.h5"));
  const Checkpoint single = read_keras_preset(preset("text_all").string());
  const Checkpoint sharded = open_checkpoint(dir.path().string());
  EXPECT_EQ(sharded.format, "kerashub");
  expect_same_tensors(*single.weights, *sharded.weights);
}

TEST(KerasPreset, ShardedMultimodalPresetLoadsIdentically) {
  TempDir dir("sharded_mm");
  write_preset(preset("multimodal_all"), dir.path(), "--shard-bytes 100000");
  const KerasRead single = read_keras(preset("multimodal_all"));
  const KerasRead sharded = read_keras(dir.path());
  EXPECT_TRUE(sharded.unclaimed.empty());
  expect_same_tensors(*single.weights, *sharded.weights);
}

TEST(KerasPreset, Bfloat16AndFloat16VariablesLoadAsStored) {
  const KerasRead reference = read_keras(preset("text_all"));
  for (const auto& [option, type] : {std::pair{"bfloat16", DType::BF16}, std::pair{"float16", DType::F16}}) {
    SCOPED_TRACE(option);
    TempDir dir(option);
    write_preset(preset("text_all"), dir.path(), std::string("--shard-bytes 50000 --dtype ") + option);
    const Checkpoint loaded = open_checkpoint(dir.path().string());
    expect_same_tensors(*reference.weights, *loaded.weights, type);
    auto backbone = Backbone::from_folder(dir.path().string());  // binds and runs in the stored type
    BackboneInputs in;
    in.sequence_length = 3;
    in.token_ids = {2, 17, 300};
    const BackboneOutputs out = backbone->forward(in);
    for (float v : out.logits) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(KerasPreset, TokenizerAssetIsFound) {
  TempDir dir("tokenizer");
  write_preset(preset("embedding"), dir.path(), "");
  EXPECT_EQ(open_checkpoint(dir.path().string()).tokenizer.file, "");
  // KerasHub's own tokenizer.json is the tokenizer's Keras config, not a vocabulary.
  std::ofstream(dir.path() / "tokenizer.json") << R"({"class_name": "Gemma4Tokenizer", "config": {}})";
  EXPECT_EQ(open_checkpoint(dir.path().string()).tokenizer.file, "");
  fs::create_directories(dir.path() / "assets" / "tokenizer");
  std::ofstream(dir.path() / "assets" / "tokenizer" / "vocabulary.spm") << "spm";
  EXPECT_EQ(open_checkpoint(dir.path().string()).tokenizer.file, (dir.path() / "assets" / "tokenizer" / "vocabulary.spm").string());
}

TEST(KerasPreset, TruncatedWeightsFileIsNamed) {
  TempDir dir("truncated");
  write_preset(preset("text_all"), dir.path(), "");
  const fs::path h5 = dir.path() / "model.weights.h5";
  fs::resize_file(h5, fs::file_size(h5) / 2);
  const std::string message = error_of([&] { open_checkpoint(dir.path().string()); });
  EXPECT_NE(message.find(h5.string()), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(KerasPreset, MissingDatasetNamesFileDatasetAndTensor) {
  TempDir dir("missing");
  const std::string dataset = "layers/gemma4_text_decoder_block_2/attention/query_dense/vars/0";
  write_preset(preset("text_all"), dir.path(), "--drop " + dataset);
  const std::string message = error_of([&] { open_checkpoint(dir.path().string()); });
  EXPECT_NE(message.find((dir.path() / "model.weights.h5").string()), std::string::npos) << message;
  EXPECT_NE(message.find(dataset), std::string::npos) << message;
  EXPECT_NE(message.find("layers.2.self_attn.q_proj.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
}

TEST(KerasPreset, WrongShapeNamesFileDatasetAndTensor) {
  TempDir dir("shape");
  const std::string dataset = "layers/gemma4_text_decoder_block_1/gating_ffw/vars/0";
  write_preset(preset("text_all"), dir.path(), "--shard-bytes 30000 --reshape " + dataset);
  const std::string message = error_of([&] { open_checkpoint(dir.path().string()); });
  EXPECT_NE(message.find(".weights.h5"), std::string::npos) << message;
  EXPECT_NE(message.find(dataset), std::string::npos) << message;
  EXPECT_NE(message.find("layers.1.mlp.gate_proj.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("(16, 31)"), std::string::npos) << message;
  EXPECT_NE(message.find("[32, 16]"), std::string::npos) << message;
}

TEST(KerasPreset, UnknownTextVariableIsRefused) {
  TempDir dir("extra");
  write_preset(preset("embedding"), dir.path(), "--extra layers/gemma4_text_decoder_block/attention/query_dense/vars/1");
  const std::string message = error_of([&] { open_checkpoint(dir.path().string()); });
  EXPECT_NE(message.find("query_dense/vars/1"), std::string::npos) << message;
  EXPECT_NE(message.find("does not use"), std::string::npos) << message;
}

TEST(KerasPreset, MissingShardIsNamed) {
  TempDir dir("shard_missing");
  write_preset(preset("embedding"), dir.path(), "--shard-bytes 20000");
  fs::remove(dir.path() / "model_00001.weights.h5");
  const std::string message = error_of([&] { open_checkpoint(dir.path().string()); });
  EXPECT_NE(message.find("model.weights.json"), std::string::npos) << message;
  EXPECT_NE(message.find("model_00001.weights.h5"), std::string::npos) << message;
}

TEST(KerasPreset, Bfloat16PolicyReachesTheConfig) {
  TempDir dir("policy");
  write_preset(preset("embedding"), dir.path(), "--dtype bfloat16");
  std::ifstream in(dir.path() / "config.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const std::string from = "\"name\": \"float32\"";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "\"name\": \"bfloat16\"");
  std::ofstream(dir.path() / "config.json") << text;
  const Checkpoint loaded = open_checkpoint(dir.path().string());
  EXPECT_EQ(loaded.config.dtype, "bfloat16");
  EXPECT_EQ(loaded.weights->find("embed_tokens.weight")->view.dtype, DType::BF16);
}

TEST(KerasNames, EveryRuleHasADistinctTargetAndKnownPlaceholders) {
  std::set<std::string> canonical;
  for (const auto& rule : keras_name_rules()) {
    EXPECT_TRUE(canonical.insert(rule.canonical).second) << rule.canonical;
    EXPECT_EQ(rule.keras_second.empty(), rule.layout != KerasLayout::kExpertsGateUp) << rule.canonical;
    const bool block = rule.canonical.find("{i}") != std::string::npos;
    EXPECT_EQ(block, rule.keras.find("{i}") != std::string::npos) << rule.canonical;
  }
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// KerasHub's Gemma4CausalLM greedy generation (8 tokens after sample 0's 24-token prompt), reproduced
// through our KV cache: prefill, then single-token decode steps on KV-shared, K=V, MoE and PLE layers.
TEST(KerasHubGolden, GreedyGenerationMatchesKerasHub) {
  const fs::path folder = fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "text_all";
  const NpyArray generated = read_npy((folder / "outputs" / "generated_token_ids.npy").string());
  const NpyArray tokens = read_npy((folder / "inputs" / "token_ids.npy").string());
  std::vector<int32_t> prompt(tokens.values.begin(), tokens.values.begin() + tokens.shape[1]);
  std::vector<int32_t> expected(generated.values.begin() + tokens.shape[1], generated.values.end());
  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = 7;  // several prefill chunks, past the window of 4
  CausalLM lm(Backbone::from_folder(folder.string()), nullptr, options);
  GenerationConfig config;
  config.sampling = SamplingConfig::greedy();
  config.max_new_tokens = static_cast<int64_t>(expected.size());
  config.stop_token_ids = {-1};
  EXPECT_EQ(lm.generate(prompt, config).tokens, expected);
}

}  // namespace
}  // namespace gemma4
