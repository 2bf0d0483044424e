// The live LoRA state in inference (src/model/lora_runtime.h): after Backbone::enable_lora, forward(), CausalLM
// generation and forward_batch use W + (alpha / rank) a @ b. The independent reference is the load-time merge of
// the same adapter saved to disk (LoadOptions::lora_adapters, the PEFT and KerasHub readers, model/lora_merge.h),
// which computes the merged matrices by another route; b = 0 must leave the outputs bit-identical.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gemma4/lora_training.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <random>

#include "loading/builtin_model.h"
#include "model/backbone_parts.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("gemma4_lora_runtime_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

const std::vector<std::string> kEveryTarget = {"query",      "key",          "value",      "attention_output",
                                                "ffw_gating", "ffw_gating_2", "ffw_linear", "per_layer_input_gate",
                                                "per_layer_up_proj"};

void randomize(LoraTrainingState& state, uint32_t seed, bool b_too = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  for (LoraLayer& layer : state.layers()) {
    for (float& v : layer.a) v = normal(rng);
    if (b_too) for (float& v : layer.b) v = normal(rng);
  }
}

const std::vector<int32_t> kTokens = {2, 17, 300, 45, 99, 7, 250, 3, 12, 401};

std::vector<float> logits(const Backbone& backbone) {
  BackboneInputs in;
  in.token_ids = kTokens;
  in.sequence_length = static_cast<int64_t>(in.token_ids.size());
  return backbone.forward(in).logits;
}

double max_abs(const std::vector<float>& x) {
  double m = 0;
  for (float v : x) m = std::max(m, double(std::abs(v)));
  return m;
}

double max_diff(const std::vector<float>& x, const std::vector<float>& y) {
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  return worst;
}

LoadOptions with_adapter(const std::string& path, const std::string& quantize = "") {
  LoadOptions options;
  options.lora_adapters = {path};
  options.quantize = quantize;
  return options;
}

TEST(LoraRuntime, ZeroBIsBitIdentical) {
  auto backbone = Backbone::load(kBuiltinTinyModel);
  const std::vector<float> base = logits(*backbone);
  LoraTrainingState& state = backbone->enable_lora(4, kEveryTarget);
  EXPECT_EQ(logits(*backbone), base);  // he_uniform a, zero b
  randomize(state, 3, /*b_too=*/false);
  EXPECT_EQ(logits(*backbone), base);
}

// Every target kind on the tiny model (PLE, KV sharing, K=V global layers): live == merged on load.
TEST(LoraRuntime, LiveAdapterEqualsTheMergedOneF32) {
  TempDir dir("f32");
  auto backbone = Backbone::load(kBuiltinTinyModel);
  const std::vector<float> base = logits(*backbone);
  LoraTrainingState& state = backbone->enable_lora(3, kEveryTarget);
  randomize(state, 7);
  const std::vector<float> live = logits(*backbone);
  backbone->save_lora_weights(dir / "adapter");
  const std::vector<float> merged = logits(*Backbone::load(kBuiltinTinyModel, with_adapter(dir / "adapter")));
  EXPECT_LE(max_diff(live, merged), 1e-4 * max_abs(merged));
  EXPECT_GT(max_diff(live, base), 100 * 1e-4 * max_abs(merged));  // the adapter matters

  // Writing into the factors changes the next pass (nothing is cached), and the default targets through the
  // KerasHub file agree as well.
  auto other = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& defaults = other->enable_lora(2);
  randomize(defaults, 9);
  const std::vector<float> first = logits(*other);
  other->save_lora_weights(dir / "model.lora.h5");
  const std::vector<float> keras = logits(*Backbone::load(kBuiltinTinyModel, with_adapter(dir / "model.lora.h5")));
  EXPECT_LE(max_diff(first, keras), 1e-4 * max_abs(keras));
  for (float& v : defaults.layers()[0].b) v *= 3.0f;
  EXPECT_GT(max_diff(logits(*other), first), 1e-3);
}

// Q8_0 storage: the adapter rides beside the int8 matrix. The merge path re-quantizes W + delta (merge, then
// quantize on load), so the two differ by one quantization step; both are held to the size of the gap that Q8_0
// itself makes (base Q8_0 vs base F32), while the adapter's own effect is far larger.
TEST(LoraRuntime, LiveAdapterOnQ8_0MatchesTheMergePathToQuantizationNoise) {
  TempDir dir("q8");
  LoadOptions q8;
  q8.quantize = "q8_0";
  const std::vector<float> base_f32 = logits(*Backbone::load(kBuiltinTinyModel));
  auto backbone = Backbone::load(kBuiltinTinyModel, q8);
  const std::vector<float> base_q8 = logits(*backbone);
  EXPECT_EQ(backbone->token_embedding().dtype, "Q8_0");
  LoraTrainingState& state = backbone->enable_lora(3, kEveryTarget);
  EXPECT_EQ(logits(*backbone), base_q8);
  randomize(state, 7);
  const std::vector<float> live = logits(*backbone);
  backbone->save_lora_weights(dir / "adapter");
  const std::vector<float> merged = logits(*Backbone::load(kBuiltinTinyModel, with_adapter(dir / "adapter", "q8_0")));
  const double quantization_gap = max_diff(base_q8, base_f32);
  const double effect = max_diff(live, base_q8);
  EXPECT_GT(effect, 5 * quantization_gap);
  std::printf("q8_0: quantization gap %.4g, adapter effect %.4g, live vs merged %.4g\n", quantization_gap, effect, max_diff(live, merged));
  EXPECT_LE(max_diff(live, merged), 3 * quantization_gap) << "effect " << effect;
  // And the live Q8_0 adapter is close to the live F32 one by the same measure.
  auto f32 = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& same = f32->enable_lora(3, kEveryTarget);
  randomize(same, 7);
  EXPECT_LE(max_diff(live, logits(*f32)), 3 * quantization_gap);
}

// Generation (CausalLM::feed: prefill chunks, then one token at a time) and forward_batch run on the same
// TextModel and see the adapter too.
TEST(LoraRuntime, CausalLmDecodeAndBatchUseTheLiveAdapter) {
  TempDir dir("decode");
  auto backbone = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& state = backbone->enable_lora(2, {"query", "value", "ffw_linear"});
  randomize(state, 11);
  backbone->save_lora_weights(dir / "adapter");
  auto merged_backbone = Backbone::load(kBuiltinTinyModel, with_adapter(dir / "adapter"));
  const TextModel& live_model = text_model_of(*backbone);
  const TextModel& merged_model = text_model_of(*merged_backbone);

  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = 4;
  CausalLM live(std::move(backbone), nullptr, options);
  CausalLM merged(std::move(merged_backbone), nullptr, options);
  const std::vector<int32_t> prompt(kTokens.begin(), kTokens.begin() + 6);
  std::vector<float> a = live.feed(prompt), b = merged.feed(prompt);
  EXPECT_LE(max_diff(a, b), 1e-4 * max_abs(b));
  for (int32_t token : {5, 77, 123, 9}) {
    a = live.feed({token});
    b = merged.feed({token});
    EXPECT_LE(max_diff(a, b), 1e-4 * max_abs(b)) << "token " << token;
  }

  // Two sequences in one batch.
  const Gemma4Config& config = live_model.config();
  auto batch_rows = [&](const TextModel& model) {
    KvCache first(config, 16, 8, false), second(config, 16, 8, false);
    TextActivations act(config, 16);
    BatchSegment segments[2];
    segments[0].input.token_ids = kTokens.data();
    segments[0].input.length = 5;
    segments[0].cache = &first;
    segments[0].output_rows = 5;
    segments[1].input.token_ids = kTokens.data() + 5;
    segments[1].input.length = 4;
    segments[1].cache = &second;
    segments[1].output_rows = 1;
    std::vector<float> out(static_cast<size_t>(6 * config.hidden_dim));
    model.forward_batch(segments, 2, act, out.data());
    return out;
  };
  const std::vector<float> live_rows = batch_rows(live_model), merged_rows = batch_rows(merged_model);
  EXPECT_LE(max_diff(live_rows, merged_rows), 1e-4 * max_abs(merged_rows));
}

TEST(LoraRuntime, LoadLoraWeightsWritesInPlaceAndTakesEffect) {
  TempDir dir("load");
  auto trained = Backbone::load(kBuiltinTinyModel);
  randomize(trained->enable_lora(4), 21);
  trained->save_lora_weights(dir / "model.lora.h5");
  const std::vector<float> want = logits(*trained);

  auto fresh = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& state = fresh->enable_lora(4);
  const float* a_before = state.layers()[0].a.data();
  fresh->load_lora_weights(dir / "model.lora.h5");
  EXPECT_EQ(state.layers()[0].a.data(), a_before);  // views of the factors stay valid
  EXPECT_EQ(logits(*fresh), want);

  auto unset = Backbone::load(kBuiltinTinyModel);  // not enabled: load enables it and binds it
  unset->load_lora_weights(dir / "model.lora.h5");
  EXPECT_EQ(logits(*unset), want);
}

TEST(LoraRuntime, ResizedFactorsAreAnError) {
  auto backbone = Backbone::load(kBuiltinTinyModel);
  LoraTrainingState& state = backbone->enable_lora(2);
  state.layers()[0].b.assign(3, 1.0f);
  EXPECT_THROW(logits(*backbone), Error);
}

}  // namespace
}  // namespace gemma4
