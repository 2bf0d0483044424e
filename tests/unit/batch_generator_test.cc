// BatchGenerator: every sequence generates what CausalLM::generate gives it alone (greedy and seeded
// sampling), whoever else is in the batch, joining and leaving between steps; cancelling frees the slot at
// once; a finished slot's prefix is reused; log-probabilities are the log-softmax of the logits.
#include <gemma4/backbone.h>
#include <gemma4/batch.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loading/builtin_model.h"
#include "loading/test_tokenizer.h"

namespace gemma4 {
namespace {

Gemma4Config test_config() {
  Gemma4Config c = builtin_tiny_config();
  c.sliding_window_size = 5;
  return c;
}

std::unique_ptr<CausalLM> make_lm(int64_t context = 96, int64_t chunk = 4) {
  CausalLM::Options options;
  options.max_context = context;
  options.prefill_chunk = chunk;
  const Gemma4Config config = test_config();
  return std::make_unique<CausalLM>(Backbone::from_config(config, 5), make_test_tokenizer(config.vocabulary_size),
                                    options);
}

std::vector<int32_t> prompt_of(int64_t length, int64_t salt) {
  std::vector<int32_t> ids = {2};
  for (int64_t i = 1; i < length; ++i) ids.push_back(static_cast<int32_t>((i * 53 + salt * 29 + 7) % 500 + 5));
  return ids;
}

GenerationConfig config_for(int64_t index, bool sampled) {
  GenerationConfig config;
  config.max_new_tokens = 6 + 3 * index;
  config.stop_token_ids = {1};
  config.sampling = sampled ? SamplingConfig{0.9f, 20, 0.9f, 0.0f, 1.1f, static_cast<uint64_t>(100 + index)}
                            : SamplingConfig::greedy();
  return config;
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;       // streamed pieces joined
  std::string stop_reason;
  bool done = false;
};

SequenceRequest request_for(const std::vector<int32_t>& prompt, const GenerationConfig& config, Outcome& outcome) {
  SequenceRequest request;
  request.prompt = prompt;
  request.config = config;
  request.on_token = [&outcome](const TokenEvent& event) {
    if (event.token >= 0) outcome.tokens.push_back(event.token);
    outcome.text += event.text;
    return true;
  };
  request.on_done = [&outcome](const GenerationResult& result) {
    outcome.stop_reason = result.stop_reason;
    outcome.done = true;
  };
  return request;
}

// Sequences of 3..40 prompt tokens (chunks of 4, window 5) join two at a time while the earlier ones decode.
void expect_same_as_alone(bool sampled, int64_t count) {
  auto lm = make_lm();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<GenerationResult> alone;
  for (int64_t i = 0; i < count; ++i) {
    prompts.push_back(prompt_of(3 + (i * 11) % 38, i));
    lm->reset();
    alone.push_back(lm->generate(prompts[i], config_for(i, sampled)));
  }
  BatchOptions options;
  options.max_sequences = count;
  options.max_context = 96;
  options.prefill_chunk = 4;
  options.max_batch_tokens = count + 6;  // a prompt chunk beside every decode row, but not all prompts at once
  BatchGenerator batch(*lm, options);
  std::vector<Outcome> outcomes(static_cast<size_t>(count));
  int64_t added = 0;
  for (int64_t step = 0; step < 1000; ++step) {
    for (int64_t k = 0; k < 2 && added < count; ++k, ++added) {
      batch.add(request_for(prompts[added], config_for(added, sampled), outcomes[added]));
    }
    if (!batch.step() && added == count) break;
  }
  for (int64_t i = 0; i < count; ++i) {
    ASSERT_TRUE(outcomes[i].done) << i;
    std::vector<int32_t> expected = alone[i].tokens;
    if (alone[i].stop_reason == "stop_token") expected.pop_back();  // the stop token is not streamed
    EXPECT_EQ(outcomes[i].tokens, expected) << "sequence " << i << (sampled ? " (sampled)" : " (greedy)");
    EXPECT_EQ(outcomes[i].stop_reason, alone[i].stop_reason) << i;
    EXPECT_EQ(outcomes[i].text, alone[i].text) << i;
  }
  EXPECT_EQ(batch.free_slots(), count);
}

TEST(BatchGenerator, GreedySequencesEqualEachAlone) {
  for (int64_t n : {1, 2, 5, 8}) expect_same_as_alone(false, n);
}

TEST(BatchGenerator, SeededSamplingEqualsEachAlone) { expect_same_as_alone(true, 6); }

TEST(BatchGenerator, CancelFreesTheSlotAndLeavesTheOthersAlone) {
  auto lm = make_lm();
  const auto a = prompt_of(9, 1), b = prompt_of(14, 2);
  GenerationConfig config = config_for(4, false);
  lm->reset();
  const GenerationResult b_alone = lm->generate(b, config);
  BatchOptions options;
  options.max_sequences = 2;
  options.max_context = 96;
  options.prefill_chunk = 4;
  BatchGenerator batch(*lm, options);
  Outcome oa, ob;
  const auto id_a = batch.add(request_for(a, config, oa));
  batch.add(request_for(b, config, ob));
  EXPECT_EQ(batch.free_slots(), 0);
  EXPECT_THROW(batch.add(request_for(a, config, oa)), Error);  // full
  for (int i = 0; i < 6; ++i) batch.step();
  batch.cancel(id_a);
  EXPECT_TRUE(oa.done);
  EXPECT_EQ(oa.stop_reason, "cancelled");
  EXPECT_EQ(batch.free_slots(), 1);
  while (batch.step()) {
  }
  std::vector<int32_t> expected = b_alone.tokens;
  if (b_alone.stop_reason == "stop_token") expected.pop_back();
  EXPECT_EQ(ob.tokens, expected);
  EXPECT_EQ(batch.free_slots(), 2);
}

TEST(BatchGenerator, AFinishedSlotsPrefixIsReused) {
  auto lm = make_lm();
  const auto first = prompt_of(10, 3);
  GenerationConfig config = config_for(0, false);
  BatchOptions options;
  options.max_sequences = 2;
  options.max_context = 96;
  options.prefill_chunk = 4;
  BatchGenerator batch(*lm, options);
  GenerationResult done;
  Outcome o1;
  SequenceRequest r1 = request_for(first, config, o1);
  r1.on_done = [&](const GenerationResult& result) { done = result; };
  batch.add(std::move(r1));
  while (batch.step()) {
  }
  EXPECT_EQ(done.prompt_tokens, 10);
  // The next turn: the first prompt, the reply as generated, more text.
  std::vector<int32_t> second = first;
  second.insert(second.end(), done.tokens.begin(), done.tokens.end());
  if (done.stop_reason == "stop_token") second.pop_back();
  for (int32_t id : prompt_of(6, 9)) second.push_back(id);
  GenerationResult reused;
  Outcome o2;
  SequenceRequest r2 = request_for(second, config, o2);
  r2.on_done = [&](const GenerationResult& result) { reused = result; };
  batch.add(std::move(r2));
  while (batch.step()) {
  }
  const int64_t cached = 10 + static_cast<int64_t>(done.tokens.size()) - 1;  // the last reply token was never fed
  EXPECT_EQ(reused.prompt_tokens, static_cast<int64_t>(second.size()) - cached);
  lm->reset();
  EXPECT_EQ(reused.tokens, lm->generate(second, config).tokens);
}

TEST(BatchGenerator, LogprobsAreTheLogSoftmaxOfTheLogits) {
  auto lm = make_lm();
  const auto prompt = prompt_of(7, 4);
  GenerationConfig config = config_for(0, false);
  config.max_new_tokens = 1;
  lm->reset();
  std::vector<float> logits = lm->feed(prompt);
  double max_logit = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (float l : logits) sum += std::exp(l - max_logit);
  const int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  BatchOptions options;
  options.max_sequences = 1;
  options.max_context = 96;
  options.prefill_chunk = 4;
  BatchGenerator batch(*lm, options);
  TokenEvent seen;
  SequenceRequest request;
  request.prompt = prompt;
  request.config = config;
  request.top_logprobs = 3;
  request.on_token = [&](const TokenEvent& event) {
    if (event.token >= 0) seen = event;
    return true;
  };
  batch.add(std::move(request));
  while (batch.step()) {
  }
  ASSERT_EQ(seen.token, best);
  EXPECT_NEAR(seen.logprob, logits[best] - max_logit - std::log(sum), 1e-4);
  ASSERT_EQ(seen.top.size(), 3u);
  EXPECT_EQ(seen.top[0].token, best);
  EXPECT_GE(seen.top[0].logprob, seen.top[1].logprob);
  EXPECT_GE(seen.top[1].logprob, seen.top[2].logprob);
  EXPECT_NEAR(seen.top[2].logprob, logits[seen.top[2].token] - max_logit - std::log(sum), 1e-4);
}

TEST(BatchGenerator, BadRequestsAreClearErrors) {
  auto lm = make_lm();
  BatchOptions options;
  options.max_sequences = 1;
  options.max_context = 16;
  options.prefill_chunk = 4;
  BatchGenerator batch(*lm, options);
  Outcome o;
  GenerationConfig config = config_for(0, false);
  EXPECT_THROW(batch.add(request_for({}, config, o)), Error);
  EXPECT_THROW(batch.add(request_for({2, 99999}, config, o)), Error);
  EXPECT_THROW(batch.add(request_for(prompt_of(17, 1), config, o)), Error);
  EXPECT_EQ(batch.free_slots(), 1);
}

}  // namespace
}  // namespace gemma4
