// A manual benchmark of accumulate_gradients (disabled; run with --gtest_also_run_disabled_tests
// --gtest_filter='TrainBench.*'). GEMMA4_TRAIN_BENCH=tiny|10m picks the config, GEMMA4_TRAIN_CHECKPOINT=0|1
// the activation checkpointing; prints tokens/s and the process's peak RSS growth over the calls (run
// one mode per process for a clean peak). LoRA rank 8 on every q_proj and v_proj, as enable_lora does.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "loading/builtin_model.h"
#include "loading/random_weights.h"
#include "model/text_model.h"
#include "model/weights.h"
#include "schema/tensor_names.h"
#include "train/gradients.h"

namespace gemma4::train {
namespace {

Gemma4Config ten_million_config() {
  Gemma4Config c = builtin_tiny_config();
  c.vocabulary_size = 8192;
  c.num_layers = 8;
  c.hidden_dim = 256;
  c.intermediate_dim = 1024;
  c.num_query_heads = 4;
  c.num_key_value_heads = 1;
  c.head_dim = 64;
  c.global_head_dim = 128;
  c.layer_types.clear();
  c.sliding_window_pattern = 4;
  c.sliding_window_size = 64;
  c.hidden_size_per_layer_input = 16;
  c.num_kv_shared_layers = 2;
  c.validate();
  return c;
}

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096.0 / (1 << 20);
}

double peak_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

TEST(TrainBench, DISABLED_AccumulateGradients) {
  const char* which = std::getenv("GEMMA4_TRAIN_BENCH");
  const char* checkpoint = std::getenv("GEMMA4_TRAIN_CHECKPOINT");
  const bool big = which && std::string(which) == "10m";
  const Gemma4Config config = big ? ten_million_config() : builtin_tiny_config();
  const TextModel model(config, bind_weights(config, make_random_weights(config, 1, DType::F32, kDemoEmbeddingStd)));
  TrainableParameters p;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    for (const char* pattern : {"layers.{l}.self_attn.q_proj.weight", "layers.{l}.self_attn.v_proj.weight"}) {
      const std::string name = expand_tensor_name(pattern, layer);
      bool present = false;
      for (const auto& t : expected_text_tensors(config)) present = present || t.name == name;
      if (!present) continue;
      const auto& w = model.weights().layers[layer];
      const TensorView& view = std::string(pattern).find("q_proj") != std::string::npos ? w.q_proj : w.v_proj;
      LoraParameter l;
      l.tensor = name;
      l.rank = 8;
      l.out = view.shape[0];
      l.in = view.shape[1];
      l.scale = 1.0f;
      l.a.resize(static_cast<size_t>(l.rank * l.in));
      l.b.resize(static_cast<size_t>(l.out * l.rank));
      for (float& v : l.a) v = normal(rng);
      for (float& v : l.b) v = normal(rng);
      p.lora.push_back(std::move(l));
    }
  }
  TrainSequence s;
  for (int i = 0; i < 128; ++i) s.tokens.push_back(static_cast<int32_t>(rng() % config.vocabulary_size));
  BackwardOptions options;
  options.checkpoint_activations = !(checkpoint && std::string(checkpoint) == "0");
  ParameterGradients g;
  const double before = rss_mib();
  accumulate_gradients(model, p, s, g, options);  // warm-up (sizes the gradients)
  const int repeats = big ? 3 : 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) accumulate_gradients(model, p, s, g, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("train bench: %s (%lld parameters), seq 128, LoRA r8 q/v, checkpointing %s: %.0f tokens/s, "
              "peak RSS %.1f MiB (%.1f MiB above the model)\n",
              big ? "10m" : "builtin:tiny", static_cast<long long>(count_text_parameters(config)),
              options.checkpoint_activations ? "on" : "off", 128.0 * repeats / seconds, peak_mib(), peak_mib() - before);
}

}  // namespace
}  // namespace gemma4::train
