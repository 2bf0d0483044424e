// Batched decoding: many sequences in one forward_batch / BatchGenerator step give each exactly what it gets
// alone (TextModel::forward_chunk_tail on its own KvCache; CausalLM::generate), past the sliding window,
// across the KV-shared layers, with prompt chunks interleaved with other sequences' decode rows, and with
// sequences joining and leaving mid-batch.
#include <gemma4/backbone.h>
#include <gemma4/batch.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include "loading/builtin_model.h"
#include "model/backbone_parts.h"
#include "model/batch_pool.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace gemma4 {
namespace {

// builtin:tiny (PLE, KV-shared last layers, double-wide MLP, soft caps) with a window far shorter than the
// sequences below; the MoE oracle config (experts, K=V) for the other layer kinds.
Gemma4Config windowed_tiny() {
  Gemma4Config c = builtin_tiny_config();
  c.sliding_window_size = 5;
  return c;
}

Gemma4Config moe_config() {
  Gemma4Config c = config_from_file(std::string(GEMMA4_SOURCE_DIR) + "/tests/oracle/configs/kv_moe.json");
  c.sliding_window_size = 4;
  return c;
}

std::vector<int32_t> tokens(int64_t count, int64_t salt, int64_t vocab) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < count; ++i) ids.push_back(static_cast<int32_t>((i * 37 + salt * 101 + 11) % (vocab - 3) + 3));
  return ids;
}

int32_t argmax(const float* row, int64_t vocab) { return static_cast<int32_t>(std::max_element(row, row + vocab) - row); }

// Greedy decode of one sequence alone: the logits after its prompt and after each fed token.
std::vector<std::vector<float>> decode_alone(const TextModel& model, const std::vector<int32_t>& prompt, int64_t steps,
                                             int64_t chunk) {
  const Gemma4Config& config = model.config();
  KvCache cache(config, 128, chunk);
  std::vector<float> hidden(static_cast<size_t>(config.hidden_dim));
  std::vector<std::vector<float>> out;
  auto run = [&](const int32_t* ids, int64_t count) {
    for (int64_t offset = 0; offset < count; offset += chunk) {
      ChunkInput input;
      input.token_ids = ids + offset;
      input.length = std::min(chunk, count - offset);
      model.forward_chunk_tail(input, cache, offset + input.length == count ? 1 : 0, hidden.data());
    }
    out.emplace_back(static_cast<size_t>(config.vocabulary_size));
    model.logits(hidden.data(), 1, out.back().data());
  };
  run(prompt.data(), static_cast<int64_t>(prompt.size()));
  for (int64_t s = 0; s < steps; ++s) {
    const int32_t next = argmax(out.back().data(), config.vocabulary_size);
    run(&next, 1);
  }
  return out;
}

// N sequences of different prompt lengths, started at different steps, each decoding `steps` tokens, all in
// shared forward_batch calls (prompt chunks beside decode rows): each one's logits equal its alone run.
void expect_batch_equals_alone(const Gemma4Config& config, int64_t sequences, int64_t chunk) {
  auto backbone = Backbone::from_config(config, 11);
  const TextModel& model = text_model_of(*backbone);
  const int64_t vocab = config.vocabulary_size;
  const int64_t steps = 14;
  struct Run {
    std::vector<int32_t> prompt;
    int64_t join_step;
    std::vector<std::vector<float>> alone;
    std::vector<std::vector<float>> batched;
    int64_t slot = -1;
    size_t fed = 0;
    int32_t next = -1;
  };
  std::vector<Run> runs(static_cast<size_t>(sequences));
  for (int64_t i = 0; i < sequences; ++i) {
    runs[i].prompt = tokens(3 + 5 * i + (i % 3) * 7, i, vocab);  // 3 .. 52 tokens: several past the window
    runs[i].join_step = i % 3;                                    // some join after others have started
    runs[i].alone = decode_alone(model, runs[i].prompt, steps, chunk);
  }
  KvCachePool pool(config, sequences, 128, chunk, sequences * chunk);
  std::vector<float> hidden(static_cast<size_t>(sequences * config.hidden_dim));
  std::vector<float> logits(static_cast<size_t>(sequences * vocab));
  for (int64_t step = 0;; ++step) {
    std::vector<BatchSegment> segments;
    std::vector<Run*> owners;
    for (Run& run : runs) {
      if (step < run.join_step || static_cast<int64_t>(run.batched.size()) == steps + 1) {
        if (run.slot >= 0 && static_cast<int64_t>(run.batched.size()) == steps + 1) {
          pool.release(run.slot);  // leaves mid-batch
          run.slot = -2;
        }
        continue;
      }
      if (run.slot == -1) {
        int64_t shared = 0;
        run.slot = pool.acquire(run.prompt, &shared);
      }
      BatchSegment segment;
      segment.cache = &pool.cache(run.slot);
      if (run.fed < run.prompt.size()) {
        segment.input.token_ids = run.prompt.data() + run.fed;
        segment.input.length = std::min<int64_t>(chunk, static_cast<int64_t>(run.prompt.size() - run.fed));
        run.fed += static_cast<size_t>(segment.input.length);
        segment.output_rows = run.fed == run.prompt.size() ? 1 : 0;
      } else {
        segment.input.token_ids = &run.next;
        segment.input.length = 1;
        segment.output_rows = 1;
      }
      segments.push_back(segment);
      owners.push_back(&run);
    }
    if (segments.empty()) break;
    model.forward_batch(segments.data(), static_cast<int64_t>(segments.size()), pool.activations(), hidden.data());
    int64_t row = 0;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].output_rows == 0) continue;
      model.logits(hidden.data() + row * config.hidden_dim, 1, logits.data());
      owners[i]->batched.emplace_back(logits.begin(), logits.begin() + vocab);
      owners[i]->next = argmax(logits.data(), vocab);
      ++row;
    }
  }
  for (int64_t i = 0; i < sequences; ++i) {
    const Run& run = runs[i];
    ASSERT_EQ(run.batched.size(), run.alone.size()) << "sequence " << i;
    for (size_t s = 0; s < run.alone.size(); ++s) {
      float worst = 0;
      for (int64_t v = 0; v < vocab; ++v) worst = std::max(worst, std::abs(run.batched[s][v] - run.alone[s][v]));
      EXPECT_LE(worst, 1e-4) << "sequence " << i << " of " << sequences << ", step " << s;
      EXPECT_EQ(argmax(run.batched[s].data(), vocab), argmax(run.alone[s].data(), vocab)) << "sequence " << i << ", step " << s;
    }
  }
}

TEST(BatchDecode, OneToEightSequencesEqualEachAlone) {
  const Gemma4Config config = windowed_tiny();
  ASSERT_GT(config.num_kv_shared_layers, 0);
  for (int64_t n = 1; n <= 8; ++n) expect_batch_equals_alone(config, n, 4);
}

TEST(BatchDecode, MixtureOfExpertsLayersToo) {
  const Gemma4Config config = moe_config();
  ASSERT_TRUE(config.enable_moe_block);
  expect_batch_equals_alone(config, 5, 3);
}

TEST(BatchDecode, RowsOfOneCacheTwiceAreRefused) {
  const Gemma4Config config = windowed_tiny();
  auto backbone = Backbone::from_config(config, 3);
  KvCachePool pool(config, 2, 32, 4, 8);
  const std::vector<int32_t> ids = {5, 6};
  BatchSegment a;
  a.input.token_ids = ids.data();
  a.input.length = 2;
  a.cache = &pool.cache(0);
  a.output_rows = 1;
  const BatchSegment both[2] = {a, a};
  std::vector<float> hidden(2 * static_cast<size_t>(config.hidden_dim));
  EXPECT_THROW(text_model_of(*backbone).forward_batch(both, 2, pool.activations(), hidden.data()), Error);
}

TEST(KvCacheTruncate, OnlyWhileTheRingsHoldTheWindow) {
  const Gemma4Config config = windowed_tiny();  // window 5, chunk 4: sliding rings of 8 positions
  auto backbone = Backbone::from_config(config, 3);
  KvCache cache(config, 64, 4);
  std::vector<float> hidden(static_cast<size_t>(config.hidden_dim));
  const auto ids = tokens(20, 1, config.vocabulary_size);
  for (int64_t offset = 0; offset < 20; offset += 4) {
    ChunkInput input;
    input.token_ids = ids.data() + offset;
    input.length = 4;
    text_model_of(*backbone).forward_chunk_tail(input, cache, 1, hidden.data());
  }
  // 20 written, rings hold 12..19; going back to L needs L-4..L-1 (window 5).
  EXPECT_TRUE(cache.can_truncate(20));
  EXPECT_TRUE(cache.can_truncate(16));
  EXPECT_FALSE(cache.can_truncate(15));
  EXPECT_TRUE(cache.can_truncate(0));
  EXPECT_THROW(cache.truncate(10), Error);
  cache.truncate(17);
  EXPECT_EQ(cache.length(), 17);
}

}  // namespace
}  // namespace gemma4
