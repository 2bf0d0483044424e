// Speculative decoding, greedy: the tokens equal plain greedy decoding whatever the drafts (prompt lookup,
// random, mostly right), across the sliding window and the KV-shared layers; a rejected draft leaves the cache
// as plain decoding would have it.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <random>

#include "loading/builtin_model.h"
#include "model/backbone_parts.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

using Ids = std::vector<int32_t>;

// builtin:tiny (sliding + full layers, PLE, two KV-shared layers, double-wide MLP) with a window of 5, far
// shorter than the generations below.
Gemma4Config short_window_config() {
  Gemma4Config c = builtin_tiny_config();
  c.sliding_window_size = 5;
  return c;
}

// A prompt that repeats itself, so prompt lookup finds matches.
Ids repeating_prompt() {
  Ids ids{2};
  for (int r = 0; r < 3; ++r) {
    for (int32_t t : {17, 300, 41, 99, 7, 250, 3}) ids.push_back(t);
  }
  return ids;
}

GenerationResult run(const Gemma4Config& config, const Ids& prompt, int64_t tokens, const DraftConfig& draft,
                     int64_t chunk, float repetition_penalty = 1.0f) {
  CausalLM::Options options;
  options.max_context = 128;
  options.prefill_chunk = chunk;
  CausalLM lm(Backbone::from_config(config, 7), nullptr, options);
  GenerationConfig generation;
  generation.max_new_tokens = tokens;
  generation.sampling = SamplingConfig::greedy();
  generation.sampling.repetition_penalty = repetition_penalty;
  generation.stop_token_ids = {-5};  // never: run to max_new_tokens
  generation.draft = draft;
  return lm.generate(prompt, generation);
}

// Drafts plain greedy's own continuation, with every third drafted token wrong: accepted runs, rejections and
// full acceptances (bonus tokens) all happen.
DraftConfig mostly_right(const Ids& prompt, const Ids& truth, int64_t max_draft) {
  DraftConfig draft;
  draft.kind = DraftConfig::Kind::kCustom;
  draft.max_draft = max_draft;
  draft.custom = [prompt_size = prompt.size(), truth](const Ids& context, int64_t room) {
    Ids out;
    const size_t at = context.size() - prompt_size;  // tokens produced so far
    for (size_t i = 0; i < static_cast<size_t>(room) && at + i < truth.size(); ++i) {
      const int32_t right = truth[at + i];
      out.push_back((at + i) % 3 == 2 ? (right + 1) % 512 : right);
    }
    return out;
  };
  return draft;
}

DraftConfig random_drafts(int64_t max_draft) {
  DraftConfig draft;
  draft.kind = DraftConfig::Kind::kCustom;
  draft.max_draft = max_draft;
  auto engine = std::make_shared<std::mt19937>(11);
  draft.custom = [engine](const Ids&, int64_t room) {
    Ids out;
    for (int64_t i = 0; i < room; ++i) out.push_back(static_cast<int32_t>((*engine)() % 512));
    return out;
  };
  return draft;
}

DraftConfig lookup(int64_t max_draft) {
  DraftConfig draft;
  draft.kind = DraftConfig::Kind::kPromptLookup;
  draft.max_draft = max_draft;
  return draft;
}

TEST(SpeculativeDecoding, GreedyOutputEqualsPlainDecoding) {
  const Gemma4Config config = short_window_config();
  const Ids prompt = repeating_prompt();
  const int64_t tokens = 40;  // past the window several times over
  for (int64_t chunk : {16, 3}) {  // chunk 3: at most 2 drafts fit beside the last token
    const GenerationResult plain = run(config, prompt, tokens, {}, chunk);
    ASSERT_EQ(plain.tokens.size(), static_cast<size_t>(tokens));
    EXPECT_EQ(plain.draft_steps, 0);
    for (int64_t k : {1, 4, 7}) {
      const std::string where = "chunk " + std::to_string(chunk) + ", K " + std::to_string(k);
      const GenerationResult right = run(config, prompt, tokens, mostly_right(prompt, plain.tokens, k), chunk);
      EXPECT_EQ(right.tokens, plain.tokens) << where << " (mostly right drafts)";
      EXPECT_GT(right.accepted_tokens, 0) << where;
      EXPECT_LT(right.accepted_tokens, right.drafted_tokens) << where;
      const GenerationResult random = run(config, prompt, tokens, random_drafts(k), chunk);
      EXPECT_EQ(random.tokens, plain.tokens) << where << " (random drafts)";
      EXPECT_GT(random.drafted_tokens, 0) << where;
      const GenerationResult looked_up = run(config, prompt, tokens, lookup(k), chunk);
      EXPECT_EQ(looked_up.tokens, plain.tokens) << where << " (prompt lookup)";
      EXPECT_GT(looked_up.drafted_tokens, 0) << where;
    }
  }
  // The repetition penalty sees each accepted draft as plain decoding sees each emitted token.
  const GenerationResult penalised = run(config, prompt, tokens, {}, 16, 1.3f);
  EXPECT_EQ(run(config, prompt, tokens, mostly_right(prompt, penalised.tokens, 4), 16, 1.3f).tokens, penalised.tokens);
}

TEST(SpeculativeDecoding, StopsAtAnAcceptedDraftLikePlainDecoding) {
  const Gemma4Config config = short_window_config();
  const Ids prompt = repeating_prompt();
  const GenerationResult plain = run(config, prompt, 30, {}, 16);
  // Stop on the 6th token: with perfect drafts it is an accepted draft in the middle of a verified chunk.
  CausalLM::Options options;
  options.max_context = 128;
  options.prefill_chunk = 16;
  for (bool drafting : {false, true}) {
    CausalLM lm(Backbone::from_config(config, 7), nullptr, options);
    GenerationConfig generation;
    generation.max_new_tokens = 30;
    generation.sampling = SamplingConfig::greedy();
    generation.stop_token_ids = {plain.tokens[5]};
    if (drafting) {
      generation.draft.kind = DraftConfig::Kind::kCustom;
      generation.draft.max_draft = 8;
      generation.draft.custom = [&](const Ids& context, int64_t room) {
        const size_t at = context.size() - prompt.size();
        return Ids(plain.tokens.begin() + static_cast<long>(at),
                   plain.tokens.begin() + static_cast<long>(std::min(plain.tokens.size(), at + room)));
      };
    }
    const GenerationResult result = lm.generate(prompt, generation);
    const auto first_stop = std::find(plain.tokens.begin(), plain.tokens.end(), plain.tokens[5]) - plain.tokens.begin();
    EXPECT_EQ(result.tokens, Ids(plain.tokens.begin(), plain.tokens.begin() + first_stop + 1));
    EXPECT_EQ(result.stop_reason, "stop_token");
    // The cache holds the prompt and every generated token but the last, as plain decoding leaves it.
    EXPECT_EQ(lm.cached_tokens(), static_cast<int64_t>(prompt.size() + result.tokens.size() - 1)) << drafting;
  }
}

// Runs `ids` through `cache` one chunk, returning the last row's logits.
std::vector<float> run_chunk(const TextModel& model, KvCache& cache, const Ids& ids) {
  ChunkInput chunk;
  chunk.token_ids = ids.data();
  chunk.length = static_cast<int64_t>(ids.size());
  std::vector<float> hidden(static_cast<size_t>(model.config().hidden_dim));
  model.forward_chunk_tail(chunk, cache, 1, hidden.data());
  std::vector<float> logits(static_cast<size_t>(model.config().vocabulary_size));
  model.logits(hidden.data(), 1, logits.data());
  return logits;
}

// A chunk [t, d1..d4] with d2..d4 rejected, cut back, then decoding on: every later step's logits equal those of
// a cache that never saw the rejected drafts, also once the sliding rings (window - 1 + chunk positions) wrap.
TEST(SpeculativeDecoding, RollbackLeavesTheCacheAsPlainDecoding) {
  const Gemma4Config config = short_window_config();
  auto backbone = Backbone::from_config(config, 7);
  const TextModel& model = text_model_of(*backbone);
  const int64_t chunk = 5;  // exactly K + 1: the tightest ring
  for (int64_t prefix : {3, 9, 23}) {
    Ids history;
    for (int64_t i = 0; i < prefix; ++i) history.push_back(static_cast<int32_t>((i * 37 + 11) % 500 + 3));
    KvCache drafted(config, 64, chunk), plain(config, 64, chunk);
    for (int64_t t = 0; t < prefix; ++t) {
      run_chunk(model, drafted, {history[static_cast<size_t>(t)]});
      run_chunk(model, plain, {history[static_cast<size_t>(t)]});
    }
    run_chunk(model, drafted, {5, 6, 7, 8, 9});  // t = 5, drafts 6 7 8 9; 6 accepted
    ASSERT_TRUE(drafted.can_truncate(prefix + 2));
    drafted.truncate(prefix + 2);
    run_chunk(model, plain, {5});
    run_chunk(model, plain, {6});
    for (int32_t next : {40, 41, 42, 43, 44, 45, 46, 47}) {
      EXPECT_EQ(run_chunk(model, drafted, {next}), run_chunk(model, plain, {next})) << "prefix " << prefix;
    }
    EXPECT_EQ(drafted.length(), plain.length());
  }
}

TEST(SpeculativeDecoding, TruncateRefusesWhatTheRingsNoLongerHold) {
  const Gemma4Config config = short_window_config();
  KvCache cache(config, 64, 5);  // sliding rings of 5 - 1 + 5 = 9 positions
  auto backbone = Backbone::from_config(config, 7);
  const TextModel& model = text_model_of(*backbone);
  for (int i = 0; i < 4; ++i) run_chunk(model, cache, {10, 11, 12, 13, 14});  // 20 positions
  EXPECT_TRUE(cache.can_truncate(15));   // a chunk back: keys 11..14 still held
  EXPECT_FALSE(cache.can_truncate(10));  // needs keys from 6 on; the ring holds 11..19
  EXPECT_THROW(cache.truncate(10), Error);
}

}  // namespace
}  // namespace gemma4
