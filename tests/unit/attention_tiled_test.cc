// Tiled attention (kernels::attend_tiled) against the per-query kernels it replaces in the text decoder:
// the double-precision twin attend_reference and the float kernel attend, with the mask of each query
// given to those as the predicate of model/attention_mask.h (QueryMask::sees, padding) and to the tiled
// kernel as the run of keys the text decoder derives from it. Every instruction set the CPU has (AVX-512,
// AVX2, portable), random shapes, edge lengths around the key block (64) and query block (32 vectors),
// head_dim 256 and 512, GQA ratios 1, 2 and 8, and every mask rule: causal, sliding windows shorter and
// longer than the chunk, padding keys and queries, bidirectional attention, image blocks, ring buffers
// that wrap, keys shared with values (K=V) and a soft cap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu_features.h"
#include "model/attention_mask.h"

namespace gemma4 {
namespace {

using kernels::AttentionIsa;

struct Case {
  int64_t start = 0;      // positions already in the cache
  int64_t rows = 1;       // query rows of the chunk
  int64_t heads = 8;
  int64_t kv_heads = 1;
  int64_t head_dim = 256;
  int64_t capacity = 0;   // ring rows (0: every position, no wrap)
  MaskRule rule;
  double padding = 0.0;   // fraction of positions that are padding
  bool image_blocks = false;
  bool shared_kv = false; // values are the keys (K=V)
  double soft_cap = 0.0;
  uint32_t seed = 1;
};

std::string describe(const Case& c) {
  return "start " + std::to_string(c.start) + " rows " + std::to_string(c.rows) + " heads " +
         std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " dim " + std::to_string(c.head_dim) +
         " ring " + std::to_string(c.capacity) + " window " + (c.rule.windowed ? std::to_string(c.rule.window) : "-") +
         (c.rule.bidirectional ? " bidirectional" : "") + (c.image_blocks ? " images" : "") +
         " padding " + std::to_string(c.padding);
}

// Runs one case through every instruction set and compares each output row with the references:
// |tiled - reference| <= 1e-5 * (largest |reference| of that query's output) per element.
void check(const Case& c, ThreadPool& pool) {
  std::mt19937 rng(c.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::bernoulli_distribution pad(c.padding);
  const int64_t end = c.start + c.rows;
  const int64_t capacity = c.capacity > 0 ? c.capacity : end;
  const int64_t oldest = std::max<int64_t>(0, end - capacity);
  const int64_t row_floats = c.kv_heads * c.head_dim + 3;  // a stride wider than the heads
  std::vector<float> keys(static_cast<size_t>(capacity * row_floats)), values(keys.size());
  for (auto& x : keys) x = normal(rng) * 0.6f;
  for (auto& x : values) x = normal(rng);
  const float* value_data = c.shared_kv ? keys.data() : values.data();
  std::vector<uint8_t> valid(static_cast<size_t>(end), 1);
  for (auto& v : valid) v = pad(rng) ? 0 : 1;
  std::vector<int32_t> image_ids(static_cast<size_t>(c.rows), 0);
  if (c.image_blocks) {
    // Runs of 5-20 image tokens between text runs, two images with the same id apart from each other.
    int64_t t = std::min<int64_t>(3, c.rows);
    int32_t id = 1;
    while (t < c.rows) {
      const int64_t length = 5 + static_cast<int64_t>(rng() % 16);
      for (int64_t i = t; i < std::min(c.rows, t + length); ++i) image_ids[i] = id;
      t += length + 1 + static_cast<int64_t>(rng() % 4);
      id = id == 2 ? 1 : id + 1;
    }
  }
  const ImageBlocks blocks = c.image_blocks ? ImageBlocks{image_ids.data(), c.start, c.rows} : ImageBlocks{};
  const int64_t width = c.heads * c.head_dim;
  std::vector<float> queries(static_cast<size_t>(c.rows * width));
  for (auto& x : queries) x = normal(rng) * 0.6f;

  kernels::AttentionOptions options;
  options.head_dim = c.head_dim;
  options.scale = 0.7f;
  options.soft_cap = c.soft_cap;
  const int64_t group = c.heads / c.kv_heads;

  // References, one (row, head) at a time.
  std::vector<float> reference(queries.size(), 0.0f), current(queries.size(), 0.0f);
  std::vector<double> scores(static_cast<size_t>(end));
  std::vector<float> float_scores(static_cast<size_t>(end));
  std::vector<int64_t> positions(static_cast<size_t>(end));
  const kernels::AttentionScratch scratch{float_scores.data(), positions.data(), end};
  std::vector<int64_t> first(static_cast<size_t>(c.rows)), last(static_cast<size_t>(c.rows));
  for (int64_t t = 0; t < c.rows; ++t) {
    const int64_t query = c.start + t;
    first[t] = 0, last[t] = -1;
    if (!query_attends(c.rule, valid[query] != 0)) continue;
    const QueryMask mask(c.rule, query, end, blocks);
    first[t] = std::max(mask.span().first, oldest);
    last[t] = mask.span().last;
    const auto visible = [&](int64_t j) { return valid[j] != 0 && mask.sees(j); };
    for (int64_t h = 0; h < c.heads; ++h) {
      const kernels::KeyValueRows kv{keys.data() + (h / group) * c.head_dim,
                                     value_data + (h / group) * c.head_dim, row_floats, capacity};
      const float* q = queries.data() + t * width + h * c.head_dim;
      kernels::attend_reference(q, kv, first[t], last[t], visible, options, scores.data(),
                                reference.data() + t * width + h * c.head_dim);
      kernels::attend(q, kv, first[t], last[t], visible, options, scratch, current.data() + t * width + h * c.head_dim);
    }
  }

  kernels::TiledAttention problem;
  problem.queries = queries.data();
  problem.rows = c.rows;
  problem.heads = c.heads;
  problem.row_stride = width;
  problem.kv = {keys.data(), value_data, row_floats, capacity};
  problem.kv_heads = c.kv_heads;
  problem.kv_head_stride = c.head_dim;
  problem.first = first.data();
  problem.last = last.data();
  problem.key_valid = c.padding > 0.0 ? valid.data() : nullptr;
  problem.options = options;
  const auto& cpu = kernels::cpu_features();
  std::vector<AttentionIsa> isas = {AttentionIsa::kPortable};
  if (cpu.avx2 && c.head_dim % 8 == 0) isas.push_back(AttentionIsa::kAvx2);
  if (cpu.avx512 && c.head_dim % 16 == 0) isas.push_back(AttentionIsa::kAvx512);
  for (AttentionIsa isa : isas) {
    std::vector<float> tiled(queries.size(), 123.0f);  // every element must be written
    problem.out = tiled.data();
    kernels::attend_tiled(problem, pool, isa);
    for (int64_t t = 0; t < c.rows; ++t) {
      for (int64_t h = 0; h < c.heads; ++h) {
        const int64_t at = t * width + h * c.head_dim;
        float scale = 0.0f;
        for (int64_t d = 0; d < c.head_dim; ++d) scale = std::max(scale, std::fabs(reference[at + d]));
        const float tolerance = 1e-5f * std::max(scale, 1e-30f);
        for (int64_t d = 0; d < c.head_dim; ++d) {
          ASSERT_LE(std::fabs(tiled[at + d] - reference[at + d]), tolerance)
              << describe(c) << " isa " << static_cast<int>(isa) << " row " << t << " head " << h << " dim " << d
              << ": tiled " << tiled[at + d] << " reference " << reference[at + d];
          ASSERT_LE(std::fabs(tiled[at + d] - current[at + d]), 2 * tolerance)
              << describe(c) << " isa " << static_cast<int>(isa) << " row " << t << " head " << h << " dim " << d
              << ": tiled " << tiled[at + d] << " attend " << current[at + d];
        }
      }
    }
  }
}

MaskRule causal() { return {}; }
MaskRule sliding(int64_t window) { return {false, true, window}; }
MaskRule bidirectional() { return {true, false, 0}; }

TEST(AttentionTiled, EdgeLengthsAroundTheBlocks) {
  ThreadPool pool(2);
  for (int64_t rows : {1, 31, 32, 33, 63, 64, 65, 129}) {
    for (int64_t group : {1, 2, 8}) {
      Case c;
      c.rows = rows;
      c.heads = 8;
      c.kv_heads = 8 / group;
      c.head_dim = 256;
      c.seed = static_cast<uint32_t>(rows * 10 + group);
      check(c, pool);
      c.start = 64 - rows % 64 + 1;  // keys from before the chunk, blocks not aligned with it
      check(c, pool);
    }
  }
}

TEST(AttentionTiled, GemmaHeadDimsAndGqaRatios) {
  ThreadPool pool(3);
  for (int64_t dim : {256, 512}) {
    for (int64_t group : {1, 2, 8}) {
      Case c;
      c.start = 70;
      c.rows = 45;
      c.heads = 8;
      c.kv_heads = 8 / group;
      c.head_dim = dim;
      c.seed = static_cast<uint32_t>(dim + group);
      check(c, pool);
    }
  }
}

TEST(AttentionTiled, OddHeadDimsFallBackOrUseNarrowVectors) {
  ThreadPool pool(2);
  for (int64_t dim : {4, 8, 24, 40, 48}) {
    Case c;
    c.start = 5;
    c.rows = 37;
    c.heads = 4;
    c.kv_heads = 2;
    c.head_dim = dim;
    c.seed = static_cast<uint32_t>(dim);
    check(c, pool);
  }
}

TEST(AttentionTiled, SlidingWindowsShorterAndLongerThanTheChunk) {
  ThreadPool pool(2);
  for (int64_t window : {1, 16, 64, 65, 300}) {
    Case c;
    c.start = 150;
    c.rows = 200;
    c.kv_heads = 1;
    c.rule = sliding(window);
    c.seed = static_cast<uint32_t>(window);
    check(c, pool);
  }
}

TEST(AttentionTiled, RingBufferWrapsAround) {
  ThreadPool pool(2);
  // A sliding layer's ring holds window - 1 + chunk positions; after many chunks the rows wrap.
  for (int64_t chunk : {1, 40, 97}) {
    Case c;
    c.rule = sliding(64);
    c.rows = chunk;
    c.capacity = 64 - 1 + chunk;
    c.start = 3 * c.capacity + 17;
    c.kv_heads = 2;
    c.seed = static_cast<uint32_t>(chunk);
    check(c, pool);
  }
}

TEST(AttentionTiled, PaddingKeysAndQueries) {
  ThreadPool pool(2);
  for (double padding : {0.1, 0.5, 0.97}) {
    for (MaskRule rule : {causal(), sliding(32), bidirectional()}) {
      Case c;
      c.start = 40;
      c.rows = 90;
      c.kv_heads = 2;
      c.rule = rule;
      c.padding = padding;
      c.seed = static_cast<uint32_t>(padding * 100) + static_cast<uint32_t>(rule.window);
      check(c, pool);
    }
  }
}

TEST(AttentionTiled, BidirectionalAndImageBlocks) {
  ThreadPool pool(2);
  Case c;
  c.start = 10;
  c.rows = 120;
  c.rule = bidirectional();
  check(c, pool);
  for (MaskRule rule : {causal(), sliding(8), sliding(100)}) {
    c.rule = rule;
    c.image_blocks = true;
    c.padding = 0.05;
    c.seed = static_cast<uint32_t>(rule.window + 7);
    check(c, pool);
  }
}

TEST(AttentionTiled, SharedKeysAndValuesAndSoftCap) {
  ThreadPool pool(2);
  Case c;
  c.start = 33;
  c.rows = 70;
  c.kv_heads = 4;
  c.shared_kv = true;
  check(c, pool);
  c.shared_kv = false;
  c.soft_cap = 5.0;
  check(c, pool);
}

TEST(AttentionTiled, DecodeAfterALongContextSplitsTheKeys) {
  // One query row, few tasks: the keys are shared out between the threads and merged.
  ThreadPool pool(4);
  for (int64_t dim : {256, 512}) {
    Case c;
    c.start = 3000;
    c.rows = 1;
    c.head_dim = dim;
    c.padding = dim == 512 ? 0.02 : 0.0;
    check(c, pool);
    c.rule = sliding(512);
    c.capacity = 512;
    check(c, pool);
  }
}

TEST(AttentionTiled, RandomShapes) {
  ThreadPool pool(3);
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 30; ++trial) {
    Case c;
    const int64_t groups[] = {1, 2, 4, 8};
    c.kv_heads = 1 + static_cast<int64_t>(rng() % 3);
    c.heads = c.kv_heads * groups[rng() % 4];
    c.head_dim = 16 * (1 + static_cast<int64_t>(rng() % 20));
    c.rows = 1 + static_cast<int64_t>(rng() % 150);
    c.start = static_cast<int64_t>(rng() % 300);
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 1) c.rule = sliding(1 + static_cast<int64_t>(rng() % 200));
    if (kind == 2) c.rule = bidirectional();
    if (kind == 3) {
      c.rule = sliding(1 + static_cast<int64_t>(rng() % 100));
      c.capacity = c.rule.window - 1 + c.rows;
      c.start += 2 * c.capacity;
    }
    c.padding = rng() % 3 == 0 ? 0.2 : 0.0;
    c.image_blocks = kind != 2 && rng() % 4 == 0;
    c.shared_kv = rng() % 2 == 0;
    c.seed = static_cast<uint32_t>(trial + 100);
    check(c, pool);
  }
}

TEST(AttentionTiled, RejectsHeadsThatDoNotFormGroups) {
  ThreadPool pool(1);
  std::vector<float> data(64, 0.0f);
  std::vector<int64_t> first{0}, last{0};
  kernels::TiledAttention problem;
  problem.queries = data.data();
  problem.out = data.data();
  problem.rows = 1;
  problem.heads = 3;
  problem.kv_heads = 2;
  problem.row_stride = 12;
  problem.kv = {data.data(), data.data(), 8, 0};
  problem.first = first.data();
  problem.last = last.data();
  problem.options.head_dim = 4;
  EXPECT_THROW(kernels::attend_tiled(problem, pool), Error);
}

}  // namespace
}  // namespace gemma4
