// Generation: the KV cache path equals a full recomputation; samplers obey their filters; stop rules.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "model/backbone_parts.h"
#include "generate/sampler.h"
#include "loading/builtin_model.h"
#include "model/kv_cache.h"
#include "loading/test_tokenizer.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

// Small model with every feature and a window far shorter than the sequences below.
Gemma4Config cache_test_config() {
  Gemma4Config c = builtin_tiny_config();
  c.sliding_window_size = 5;
  return c;
}

std::vector<int32_t> test_tokens(int64_t count) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < count; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % 500 + 3));
  return ids;
}

std::vector<float> full_logits(const Backbone& backbone, const std::vector<int32_t>& ids) {
  BackboneInputs inputs;
  inputs.token_ids = ids;
  inputs.sequence_length = static_cast<int64_t>(ids.size());
  return backbone.forward(inputs).logits;
}

// Every position's logits through the cache, fed in chunks of `chunk` (the last logits of each feed).
void expect_cache_matches_full(int64_t chunk) {
  const Gemma4Config config = cache_test_config();
  const auto ids = test_tokens(40);
  auto reference = full_logits(*Backbone::from_config(config, 7), ids);
  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = chunk;
  options.kv_type = KvType::kF32;  // the cache path itself, exactly (kv_types_test bounds bf16 and q8_0)
  CausalLM lm(Backbone::from_config(config, 7), nullptr, options);
  const int64_t vocab = config.vocabulary_size;
  // Prefill the first 13 tokens in chunks, then one token at a time (decode), past the window.
  auto logits = lm.feed(std::vector<int32_t>(ids.begin(), ids.begin() + 13));
  float worst = 0;
  for (int64_t i = 0; i < vocab; ++i) worst = std::max(worst, std::abs(logits[i] - reference[12 * vocab + i]));
  for (size_t t = 13; t < ids.size(); ++t) {
    logits = lm.feed({ids[t]});
    for (int64_t i = 0; i < vocab; ++i) worst = std::max(worst, std::abs(logits[i] - reference[t * vocab + i]));
  }
  EXPECT_LE(worst, 1e-4) << "chunk " << chunk;
}

TEST(KvCache, IncrementalDecodingEqualsFullForward) {
  expect_cache_matches_full(1);
  expect_cache_matches_full(4);
  expect_cache_matches_full(16);
}

// Prompt prefill with only the last rows wanted stops the other rows after the last cache-writing layer:
// the wanted rows and every cached key and value must equal the all-rows pass exactly.
TEST(KvCache, TailPrefillEqualsAllRowsPrefill) {
  const Gemma4Config config = cache_test_config();
  ASSERT_GT(config.num_kv_shared_layers, 0);
  auto backbone = Backbone::from_config(config, 7);
  const TextModel& model = text_model_of(*backbone);
  const auto ids = test_tokens(12);
  const int64_t width = config.hidden_dim;
  ChunkInput input;
  input.token_ids = ids.data();
  input.length = static_cast<int64_t>(ids.size());
  KvCache all_cache(config, 32, 12), tail_cache(config, 32, 12);
  std::vector<float> all(ids.size() * width);
  model.forward_chunk(input, all_cache, all.data());
  for (int64_t wanted : {3, 1, 0}) {
    KvCache cache(config, 32, 12);
    std::vector<float> tail(static_cast<size_t>(std::max<int64_t>(wanted, 1) * width), -1.0f);
    model.forward_chunk_tail(input, cache, wanted, tail.data());
    EXPECT_EQ(cache.length(), all_cache.length());
    for (int64_t i = 0; i < wanted * width; ++i) {
      ASSERT_EQ(tail[i], all[(ids.size() - wanted) * width + i]) << "wanted " << wanted << " value " << i;
    }
    if (wanted == 0) EXPECT_EQ(tail[0], -1.0f);  // nothing written
    for (int64_t layer = 0; layer < config.first_kv_shared_layer(); ++layer) {
      const int64_t kv = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
      std::vector<float> got(static_cast<size_t>(4 * kv));
      float* key = got.data();
      float* all_key = key + kv;
      float* value = all_key + kv;
      float* all_value = value + kv;
      for (int64_t pos = cache.oldest_kept(layer, 12); pos < 12; ++pos) {
        cache.read_key(layer, pos, key), all_cache.read_key(layer, pos, all_key);
        cache.read_value(layer, pos, value), all_cache.read_value(layer, pos, all_value);
        for (int64_t i = 0; i < kv; ++i) {
          ASSERT_EQ(key[i], all_key[i]) << "layer " << layer << " pos " << pos;
          ASSERT_EQ(value[i], all_value[i]) << "layer " << layer;
        }
      }
    }
  }
  EXPECT_THROW(model.forward_chunk_tail(input, tail_cache, 13, all.data()), Error);
}

TEST(KvCache, SlidingLayersKeepOnlyTheirWindow) {
  const Gemma4Config config = cache_test_config();
  KvCache cache(config, 4096, 8);
  EXPECT_EQ(cache.capacity(0), config.sliding_window_size - 1 + 8);  // sliding: ring of W-1+chunk
  EXPECT_EQ(cache.capacity(2), 4096);                                 // global: every position
  EXPECT_EQ(cache.capacity(4), 0);                                    // KV-shared: reads its donor
  EXPECT_EQ(cache.capacity(5), 0);
}

TEST(CausalLM, PromptLongerThanContextIsAClearError) {
  CausalLM::Options options;
  options.max_context = 16;
  CausalLM lm(Backbone::from_config(cache_test_config(), 7), nullptr, options);
  GenerationConfig config;
  config.sampling = SamplingConfig::greedy();
  try {
    lm.generate(test_tokens(20), config);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context holds 16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lm.generate(std::vector<int32_t>{2, 9999}, config), Error);  // outside the vocabulary
  // Generation stops when the context is full instead of failing.
  config.max_new_tokens = 100;
  auto result = lm.generate(test_tokens(10), config);
  EXPECT_EQ(result.stop_reason, "context_full");
  EXPECT_EQ(result.tokens.size(), 7u);  // positions 10..15 hold 6 fed tokens; the 7th is sampled, not fed
}

TEST(CausalLM, MaxTokensAndStopStringsEndGenerationExactly) {
  CausalLM::Options options;
  options.max_context = 256;
  const Gemma4Config config = builtin_tiny_config();
  CausalLM lm(Backbone::from_config(config, 3), make_test_tokenizer(config.vocabulary_size), options);
  GenerationConfig generation;
  generation.sampling = SamplingConfig::greedy();
  generation.stop_token_ids = {-1};  // no stop token: run to the limit
  generation.max_new_tokens = 12;
  const auto prompt = lm.tokenizer()->encode("the quick brown fox");
  auto full = lm.generate(prompt, generation);
  EXPECT_EQ(full.tokens.size(), 12u);
  EXPECT_EQ(full.stop_reason, "max_tokens");
  ASSERT_GE(full.text.size(), 4u) << full.text;
  // Stop at a string taken from the middle of the greedy output: the text ends right before it, and
  // the streamed pieces add up to the same text.
  const std::string stop = full.text.substr(full.text.size() / 2, 2);
  const std::string expected = full.text.substr(0, full.text.find(stop));
  generation.stop_strings = {stop};
  std::string streamed;
  auto cut = lm.generate(prompt, generation, [&](int32_t, const std::string& piece) {
    streamed += piece;
    return true;
  });
  EXPECT_EQ(cut.stop_reason, "stop_string");
  EXPECT_EQ(cut.text, expected);
  EXPECT_EQ(streamed, expected);
}

TEST(CausalLM, MultiTurnReusesTheCachedPrefix) {
  CausalLM::Options options;
  options.max_context = 128;
  CausalLM lm(Backbone::from_config(cache_test_config(), 5), nullptr, options);
  GenerationConfig generation;
  generation.sampling = SamplingConfig::greedy();
  generation.max_new_tokens = 4;
  auto first_turn = test_tokens(20);
  auto first = lm.generate(first_turn, generation);
  std::vector<int32_t> second_turn = first_turn;
  second_turn.insert(second_turn.end(), first.tokens.begin(), first.tokens.end());
  second_turn.push_back(42);
  auto second = lm.generate(second_turn, generation);
  // Only the new tokens ran: the last generated token (sampled, never fed) and the new user token.
  EXPECT_EQ(second.prompt_tokens, 2);
  // Same answer as from a fresh cache.
  CausalLM fresh(Backbone::from_config(cache_test_config(), 5), nullptr, options);
  EXPECT_EQ(fresh.generate(second_turn, generation).tokens, second.tokens);
}

std::vector<float> sampler_logits() {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = static_cast<float>(std::sin(i * 1.7) * 3.0);
  return logits;
}

TEST(Sampler, SameSeedSameDraws) {
  SamplingConfig config;
  config.seed = 99;
  Sampler a(config), b(config);
  for (int i = 0; i < 100; ++i) {
    auto la = sampler_logits(), lb = sampler_logits();
    EXPECT_EQ(a.sample(la, {}), b.sample(lb, {}));
  }
}

TEST(Sampler, FiltersNeverPickExcludedTokens) {
  const auto logits = sampler_logits();
  std::vector<int> order(50);
  for (int i = 0; i < 50; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return logits[x] > logits[y]; });

  SamplingConfig top_k;
  top_k.top_k = 5;
  top_k.top_p = 1.0f;
  top_k.seed = 1;
  const std::set<int> allowed_k(order.begin(), order.begin() + 5);

  // Top-p by hand: the smallest prefix of the sorted probabilities with mass >= 0.6.
  SamplingConfig top_p;
  top_p.top_k = 0;
  top_p.top_p = 0.6f;
  top_p.seed = 2;
  double total = 0;
  for (float l : logits) total += std::exp(l);
  std::set<int> allowed_p;
  double mass = 0;
  for (int id : order) {
    allowed_p.insert(id);
    mass += std::exp(logits[id]) / total;
    if (mass >= 0.6) break;
  }

  // Min-p by hand: probability >= 0.3 x the best.
  SamplingConfig min_p;
  min_p.top_k = 0;
  min_p.top_p = 1.0f;
  min_p.min_p = 0.3f;
  min_p.seed = 3;
  std::set<int> allowed_min;
  for (int id = 0; id < 50; ++id) {
    if (std::exp(logits[id] - logits[order[0]]) >= 0.3) allowed_min.insert(id);
  }

  for (const auto& [config, allowed] : {std::pair{top_k, allowed_k}, std::pair{top_p, allowed_p},
                                        std::pair{min_p, allowed_min}}) {
    Sampler sampler(config);
    std::set<int> seen;
    for (int draw = 0; draw < 2000; ++draw) {
      auto l = logits;
      const int id = sampler.sample(l, {});
      EXPECT_TRUE(allowed.count(id)) << "picked excluded token " << id;
      seen.insert(id);
    }
    EXPECT_GT(seen.size(), 1u);  // it does sample, not always the top token
  }
}

TEST(Sampler, GreedyAndRepetitionPenalty) {
  auto logits = sampler_logits();
  const int best = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  Sampler greedy(SamplingConfig::greedy());
  EXPECT_EQ(greedy.sample(logits, {}), best);
  SamplingConfig penalised = SamplingConfig::greedy();
  penalised.repetition_penalty = 1000.0f;  // the best token, once seen, drops below the others
  Sampler repeat(penalised);
  auto l = sampler_logits();
  EXPECT_NE(repeat.sample(l, {best}), best);
  SamplingConfig bad;
  bad.top_p = 0.0f;
  EXPECT_THROW(Sampler{bad}, Error);
}

}  // namespace
}  // namespace gemma4
