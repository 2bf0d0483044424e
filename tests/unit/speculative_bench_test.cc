// A bench line, not a timed test (disabled; run with --gtest_also_run_disabled_tests): one verification pass of
// 4 drafts (5 rows through the model and the LM head, then the rejected rows cut back) against one decode step,
// on an E2B-shaped slice (E2B's widths, 6 layers, a 32k vocabulary) in BF16 and Q8_0.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/load_options.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "loading/builtin_model.h"
#include "model/backbone_parts.h"
#include "kernels/matmul.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

Gemma4Config e2b_slice() {
  Gemma4Config c = builtin_tiny_config();
  c.vocabulary_size = 32768;
  c.hidden_dim = 1536;
  c.intermediate_dim = 6144;
  c.num_query_heads = 8;
  c.num_key_value_heads = 1;
  c.head_dim = 256;
  c.global_head_dim = 512;
  c.sliding_window_size = 512;
  c.hidden_size_per_layer_input = 256;
  c.use_double_wide_mlp = false;
  c.validate();
  return c;
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST(SpeculativeBench, DISABLED_VerifyFourDraftsVersusOneDecodeStep) {
  for (const char* quantize : {"", "q8_0"}) {
    LoadOptions options;
    options.seed = 1;
    options.dtype = "bfloat16";
    options.quantize = quantize;
    const Gemma4Config config = e2b_slice();
    auto backbone = Backbone::from_config(config, options);
    const TextModel& model = text_model_of(*backbone);
    KvCache cache(config, 1024, 64);
    std::vector<int32_t> prompt(256);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919) % 32000 + 3);
    std::vector<float> hidden(static_cast<size_t>(5 * config.hidden_dim));
    std::vector<float> logits(static_cast<size_t>(5 * config.vocabulary_size));
    for (size_t at = 0; at < prompt.size(); at += 64) {
      ChunkInput chunk;
      chunk.token_ids = prompt.data() + at;
      chunk.length = 64;
      model.forward_chunk_tail(chunk, cache, 1, hidden.data());
    }
    auto step = [&](int64_t rows) {
      std::vector<int32_t> ids(static_cast<size_t>(rows), 42);
      ChunkInput chunk;
      chunk.token_ids = ids.data();
      chunk.length = rows;
      model.forward_chunk_tail(chunk, cache, rows, hidden.data());
      model.logits(hidden.data(), rows, logits.data());
      cache.truncate(cache.length() - rows + 1);  // keep one position, as an all-rejected verification does
    };
    const int repeats = 12;
    step(1), step(5);  // warm up
    double decode = 1e30, verify = 1e30;  // best of `repeats` (the machine is shared)
    for (int r = 0; r < repeats; ++r) {
      auto start = std::chrono::steady_clock::now();
      step(1);
      decode = std::min(decode, seconds(start));
      start = std::chrono::steady_clock::now();
      step(5);
      verify = std::min(verify, seconds(start));
    }
    std::printf("[bench] %s: decode step %.2f ms, verify 4 drafts (5 rows) %.2f ms: %.2fx\n",
                *quantize ? "Q8_0" : "BF16", decode * 1e3, verify * 1e3, verify / decode);
  }
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// End to end on the same slice (BF16): plain greedy vs prompt lookup on a prompt that holds a passage twice
// (a rewrite-like prompt). The weights are random, so the acceptance only reflects how often the random model
// happens to copy (or loop); the line shows what a given acceptance buys, not a real model's acceptance.
TEST(SpeculativeBench, DISABLED_PromptLookupEndToEnd) {
  LoadOptions load;
  load.seed = 1;
  load.dtype = "bfloat16";
  auto shared = Backbone::from_config(e2b_slice(), load);
  std::vector<int32_t> passage;
  for (int i = 0; i < 96; ++i) passage.push_back(static_cast<int32_t>((i * 7919) % 32000 + 3));
  std::vector<int32_t> prompt{2};
  prompt.insert(prompt.end(), passage.begin(), passage.end());
  prompt.insert(prompt.end(), passage.begin(), passage.begin() + 8);  // "repeat it:" and its first words
  for (int64_t k : {0, 4, 8}) {
    CausalLM::Options options;
    options.max_context = 512;
    CausalLM lm(Backbone::from_config(e2b_slice(), load), nullptr, options);
    GenerationConfig generation;
    generation.max_new_tokens = 64;
    generation.sampling = SamplingConfig::greedy();
    generation.stop_token_ids = {-5};
    if (k > 0) {
      generation.draft.kind = DraftConfig::Kind::kPromptLookup;
      generation.draft.max_draft = k;
    }
    const GenerationResult result = lm.generate(prompt, generation);
    std::printf("[bench] lookup K=%lld: %.2f tok/s, %lld drafted, %lld accepted, %lld steps\n",
                static_cast<long long>(k), result.tokens.size() / result.generation_seconds,
                static_cast<long long>(result.drafted_tokens), static_cast<long long>(result.accepted_tokens),
                static_cast<long long>(result.draft_steps));
  }
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// Where a verification pass's extra time goes: one matmul of the slice's FFN shape (6144 x 1536) and LM head
// shape (32768 x 1536) at 1 and 5 activation rows, per weight type.
TEST(SpeculativeBench, DISABLED_MatmulRowsOneVersusFive) {
  for (const char* quantize : {"", "q8_0"}) {
    LoadOptions load;
    load.seed = 1;
    load.dtype = "bfloat16";
    load.quantize = quantize;
    auto backbone = Backbone::from_config(e2b_slice(), load);
    const ModelWeights& w = text_model_of(*backbone).weights();
    for (const auto& [name, weight] : {std::pair<const char*, const TensorView*>{"ffn gate", &w.layers[0].gate_proj},
                                       {"lm head", &w.lm_head}}) {
      std::vector<float> x(5 * 1536, 0.01f), y(static_cast<size_t>(5 * weight->rows()));
      double best[6] = {1e30, 1e30, 1e30, 1e30, 1e30, 1e30};
      for (int r = 0; r < 10; ++r) {
        for (int64_t n : {1, 5}) {
          const auto start = std::chrono::steady_clock::now();
          kernels::matmul(x.data(), n, *weight, y.data());
          best[n] = std::min(best[n], seconds(start));
        }
      }
      std::printf("[bench] %s %s: 1 row %.3f ms, 5 rows %.3f ms (%.2fx)\n", *quantize ? "Q8_0" : "BF16", name,
                  best[1] * 1e3, best[5] * 1e3, best[5] / best[1]);
    }
  }
}

}  // namespace
}  // namespace gemma4
