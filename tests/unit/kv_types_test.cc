// KV cache storage types (gemma4/kv_type.h): bf16 and q8_0 keys and values against float32 ones.
// - the cache's rounding (KvCache::store) within the storage bounds: bf16 |e| <= 2^-8 |x| (8 significant
//   bits, round to nearest), q8_0 |e| <= (block max) / 254 (scale = max / 127, round to nearest);
// - attend_tiled on bf16 / q8_0 rows equals attend_tiled on the same rows widened to float32 beforehand (on
//   every instruction set, ring buffers that wrap, several KV heads, padding, windows, K=V, a soft cap, key
//   splits across threads): the kernels widen in registers to exactly those floats;
// - whole models (the llama.cpp oracle configs, builtin:tiny-sized random ones): logits of every prefill
//   and decode step within the bound docs/numerics.md derives, past the sliding window (ring wrap-around),
//   across KV-shared layers and K=V layers; q8_0 refused with a clear error where head_dim is not a
//   multiple of 32;
// - bf16 batches give each sequence what it gets alone, and prefix reuse (truncate) matches a fresh run.
#include <gemma4/backbone.h>
#include <gemma4/batch.h>
#include <gemma4/causal_lm.h>
#include <gemma4/config.h>
#include <gemma4/error.h>
#include <gemma4/kv_type.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu_features.h"
#include "loading/builtin_model.h"
#include "model/kv_cache.h"

namespace gemma4 {
namespace {

using kernels::AttentionIsa;

// Round to bf16 (nearest even) the test's own way: add half an ulp of the kept bits and cut.
uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// The cache's rounding.

Gemma4Config q8_capable_tiny() {
  Gemma4Config c = builtin_tiny_config();
  c.head_dim = 32;
  c.global_head_dim = 64;
  c.validate();
  return c;
}

TEST(KvTypes, NamesParseAndBadNamesAreRefused) {
  EXPECT_EQ(parse_kv_type("f32"), KvType::kF32);
  EXPECT_EQ(parse_kv_type("bf16"), KvType::kBf16);
  EXPECT_EQ(parse_kv_type("q8_0"), KvType::kQ8_0);
  for (KvType t : {KvType::kF32, KvType::kBf16, KvType::kQ8_0}) EXPECT_EQ(parse_kv_type(kv_type_name(t)), t);
  try {
    parse_kv_type("f16");
    FAIL() << "f16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("q8_0"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kv_type_row_bytes(KvType::kF32, 64), 256);
  EXPECT_EQ(kv_type_row_bytes(KvType::kBf16, 64), 128);
  EXPECT_EQ(kv_type_row_bytes(KvType::kQ8_0, 64), 64 + 2 * 4);
  EXPECT_THROW(kv_type_row_bytes(KvType::kQ8_0, 48), Error);
}

TEST(KvTypes, StoredRowsAreWithinTheStorageRounding) {
  const Gemma4Config config = q8_capable_tiny();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (KvType type : {KvType::kF32, KvType::kBf16, KvType::kQ8_0}) {
    KvCache cache(config, 40, 4, /*with_activations=*/false, type);
    for (int64_t layer = 0; layer < config.first_kv_shared_layer(); ++layer) {
      const int64_t row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
      std::vector<float> key(row), value(row), back(row);
      for (int64_t index = 0; index < 40; ++index) {
        // Magnitudes from 1e-3 to 1e3 within a row; one block all zeros (a zero q8_0 scale).
        for (int64_t i = 0; i < row; ++i) {
          key[i] = normal(rng) * std::pow(10.0f, static_cast<float>((i / 7) % 7) - 3.0f);
          value[i] = i < 32 ? 0.0f : normal(rng);
        }
        cache.store(layer, index, key.data(), value.data());
        for (int kind = 0; kind < 2; ++kind) {
          const std::vector<float>& in = kind == 0 ? key : value;
          if (kind == 0) cache.read_key(layer, index, back.data()); else cache.read_value(layer, index, back.data());
          for (int64_t b = 0; b < row / 32; ++b) {
            float top = 0;
            for (int64_t i = 32 * b; i < 32 * b + 32; ++i) top = std::max(top, std::fabs(in[i]));
            for (int64_t i = 32 * b; i < 32 * b + 32; ++i) {
              const float error = std::fabs(back[i] - in[i]);
              float bound = 0;
              if (type == KvType::kBf16) bound = std::ldexp(std::fabs(in[i]), -8);
              if (type == KvType::kQ8_0) bound = top / 254.0f * (1.0f + 1e-5f);
              ASSERT_LE(error, bound) << kv_type_name(type) << " layer " << layer << " element " << i << " of "
                                      << in[i];
              if (type == KvType::kBf16) ASSERT_EQ(f32_to_bf16(back[i]), to_bf16(in[i]));
            }
          }
        }
      }
    }
  }
}

TEST(KvTypes, SizesFollowTheType) {
  const Gemma4Config config = q8_capable_tiny();
  const int64_t f32 = KvCache::bytes_for(config, 100, 8, KvType::kF32);
  EXPECT_EQ(KvCache::bytes_for(config, 100, 8, KvType::kBf16) * 2, f32);
  EXPECT_EQ(KvCache::bytes_for(config, 100, 8, KvType::kQ8_0) * 32, f32 * 9);  // 36 bytes per 128
  for (KvType type : {KvType::kF32, KvType::kBf16, KvType::kQ8_0}) {
    KvCache cache(config, 100, 8, false, type);
    EXPECT_EQ(cache.bytes(), KvCache::bytes_for(config, 100, 8, type)) << kv_type_name(type);
  }
  // By hand: 4 storing layers (2 of 6 KV-shared): sliding 0, 1, 3 with 2 heads x 32, full 2 with 2 x 64.
  int64_t elements = 0;
  for (int64_t layer = 0; layer < 4; ++layer) elements += 2 * config.layer_kv_heads(layer) * config.layer_head_dim(layer);
  EXPECT_EQ(elements, 2 * (3 * 64 + 128));
  EXPECT_EQ(KvCache::bytes_per_position(config, KvType::kBf16), 2 * elements);
  EXPECT_EQ(KvCache::bytes_per_position(config, KvType::kF32, /*global_only=*/true), 4 * 2 * 128);
  EXPECT_EQ(kv_bytes_per_position(config, KvType::kQ8_0), elements + elements / 32 * 4);
}

TEST(KvTypes, Q8NeedsWholeBlocksPerHead) {
  const Gemma4Config tiny = builtin_tiny_config();  // head_dim 16
  try {
    KvCache cache(tiny, 16, 4, false, KvType::kQ8_0);
    FAIL() << "q8_0 accepted head_dim 16";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiples of 32"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(KvCache(tiny, 16, 4, false, KvType::kBf16));
}

// ---------------------------------------------------------------------------------------------------------
// attend_tiled on narrow rows against the same rows widened beforehand.

struct KernelCase {
  int64_t start = 0, rows = 1, heads = 8, kv_heads = 1, head_dim = 256, ring = 0;
  int64_t window = 0;  // 0: causal over everything held
  bool padding = false, shared_kv = false;
  double soft_cap = 0;
  uint32_t seed = 1;
};

// Narrow rows built by the test: bf16 by to_bf16, q8_0 blocks of 32 with scale max/127; `wide_*` hold what
// they mean in float32.
struct NarrowRows {
  std::vector<uint16_t> bf16_keys, bf16_values;
  std::vector<int8_t> q8_keys, q8_values;
  std::vector<float> key_scales, value_scales;
  std::vector<float> wide_keys, wide_values;
};

void narrow(const std::vector<float>& in, KvType type, std::vector<uint16_t>& bf16, std::vector<int8_t>& q8,
            std::vector<float>& scales, std::vector<float>& wide) {
  wide.resize(in.size());
  if (type == KvType::kBf16) {
    bf16.resize(in.size());
    for (size_t i = 0; i < in.size(); ++i) wide[i] = from_bf16(bf16[i] = to_bf16(in[i]));
    return;
  }
  q8.resize(in.size());
  scales.resize(in.size() / 32);
  for (size_t b = 0; b < in.size() / 32; ++b) {
    float top = 0;
    for (size_t i = 32 * b; i < 32 * b + 32; ++i) top = std::max(top, std::fabs(in[i]));
    const float scale = top / 127.0f;
    scales[b] = scale;
    for (size_t i = 32 * b; i < 32 * b + 32; ++i) {
      q8[i] = static_cast<int8_t>(scale > 0 ? std::lround(in[i] / scale) : 0);
      wide[i] = static_cast<float>(q8[i]) * scale;
    }
  }
}

void check_kernel(const KernelCase& c, KvType type, AttentionIsa isa, ThreadPool& pool) {
  std::mt19937 rng(c.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t end = c.start + c.rows;
  const int64_t ring = c.ring > 0 ? c.ring : end;
  const int64_t stride = c.kv_heads * c.head_dim + 32;  // wider than the heads, still whole q8_0 blocks
  std::vector<float> keys(static_cast<size_t>(ring * stride)), values(keys.size());
  for (auto& x : keys) x = normal(rng);
  for (auto& x : values) x = normal(rng) * 3.0f;
  NarrowRows n;
  narrow(keys, type, n.bf16_keys, n.q8_keys, n.key_scales, n.wide_keys);
  if (c.shared_kv) {
    n.bf16_values = n.bf16_keys, n.q8_values = n.q8_keys, n.value_scales = n.key_scales, n.wide_values = n.wide_keys;
  } else {
    narrow(values, type, n.bf16_values, n.q8_values, n.value_scales, n.wide_values);
  }
  std::vector<float> queries(static_cast<size_t>(c.rows * c.heads * c.head_dim));
  for (auto& x : queries) x = normal(rng) * 0.3f;
  std::vector<uint8_t> valid(static_cast<size_t>(end), 1);
  if (c.padding) {
    for (int64_t p = 0; p < end; p += 5) valid[p] = 0;
  }
  std::vector<int64_t> first(c.rows), last(c.rows);
  const int64_t oldest = std::max<int64_t>(0, end - ring);
  for (int64_t r = 0; r < c.rows; ++r) {
    const int64_t q = c.start + r;
    first[r] = std::max(oldest, c.window > 0 ? q - c.window + 1 : 0);
    last[r] = q;
  }
  kernels::TiledAttention problem;
  problem.queries = queries.data();
  problem.rows = c.rows;
  problem.heads = c.heads;
  problem.row_stride = c.heads * c.head_dim;
  problem.kv_heads = c.kv_heads;
  problem.kv_head_stride = c.head_dim;
  problem.first = first.data();
  problem.last = last.data();
  problem.key_valid = c.padding ? valid.data() : nullptr;
  problem.options.head_dim = c.head_dim;
  problem.options.scale = 0.7f;
  problem.options.soft_cap = c.soft_cap;

  std::vector<float> wide_out(queries.size(), -1.0f), narrow_out(queries.size(), -2.0f);
  problem.kv = {n.wide_keys.data(), n.wide_values.data(), stride, c.ring};
  problem.out = wide_out.data();
  kernels::attend_tiled(problem, pool, isa);

  kernels::KeyValueRows kv;
  kv.stride = stride;
  kv.ring = c.ring;
  kv.type = type;
  if (type == KvType::kBf16) {
    kv.key_data = n.bf16_keys.data(), kv.value_data = n.bf16_values.data();
  } else {
    kv.key_data = n.q8_keys.data(), kv.value_data = n.q8_values.data();
    kv.key_scales = n.key_scales.data(), kv.value_scales = n.value_scales.data();
  }
  problem.kv = kv;
  problem.out = narrow_out.data();
  kernels::attend_tiled(problem, pool, isa);

  for (size_t i = 0; i < wide_out.size(); ++i) {
    ASSERT_LE(std::fabs(narrow_out[i] - wide_out[i]), 1e-6f * std::max(1.0f, std::fabs(wide_out[i])))
        << kv_type_name(type) << " isa " << static_cast<int>(isa) << " element " << i << " start " << c.start
        << " rows " << c.rows << " dim " << c.head_dim << " ring " << c.ring;
  }
}

TEST(KvTypes, TiledAttentionOnNarrowRowsEqualsOnWidenedRows) {
  ThreadPool pool(2);
  std::vector<KernelCase> cases;
  cases.push_back({});                                                     // decode, 1 key
  cases.push_back({.start = 700, .rows = 1});                              // decode, keys split across threads
  cases.push_back({.start = 40, .rows = 37, .heads = 4, .kv_heads = 2, .head_dim = 64});  // prefill, GQA 2
  cases.push_back({.start = 90, .rows = 20, .heads = 8, .kv_heads = 1, .head_dim = 512, .ring = 47, .window = 28,
                   .padding = true});                                      // ring that wraps, window, padding
  cases.push_back({.start = 130, .rows = 3, .heads = 2, .kv_heads = 2, .head_dim = 32, .ring = 70, .window = 9,
                   .shared_kv = true, .soft_cap = 20.0});                  // K=V, soft cap
  cases.push_back({.start = 5, .rows = 66, .heads = 1, .kv_heads = 1, .head_dim = 96});  // AVX2 / 8 lanes only
  const auto& cpu = kernels::cpu_features();
  for (KvType type : {KvType::kBf16, KvType::kQ8_0}) {
    for (AttentionIsa isa : {AttentionIsa::kBest, AttentionIsa::kPortable, AttentionIsa::kAvx2, AttentionIsa::kAvx512}) {
      if (isa == AttentionIsa::kAvx512 && !cpu.avx512) continue;
      if (isa == AttentionIsa::kAvx2 && !cpu.avx2) continue;
      for (const KernelCase& c : cases) check_kernel(c, type, isa, pool);
    }
  }
  // bf16 with head_dim 40 (8 lanes) and 20 (the scalar loops): q8_0 needs whole blocks.
  for (AttentionIsa isa : {AttentionIsa::kBest, AttentionIsa::kPortable}) {
    check_kernel({.start = 30, .rows = 9, .heads = 2, .kv_heads = 1, .head_dim = 40, .ring = 33}, KvType::kBf16, isa, pool);
    check_kernel({.start = 30, .rows = 9, .heads = 2, .kv_heads = 1, .head_dim = 20}, KvType::kBf16, isa, pool);
  }
}

TEST(KvTypes, TiledAttentionRefusesQ8WithoutWholeBlocks) {
  ThreadPool pool(1);
  std::vector<int8_t> data(64, 1);
  std::vector<float> scales(2, 1.0f), q(16), out(16);
  const int64_t first = 0, last = 0;
  kernels::TiledAttention problem;
  problem.queries = q.data(), problem.out = out.data(), problem.rows = 1, problem.heads = 1, problem.row_stride = 16;
  problem.kv.type = KvType::kQ8_0;
  problem.kv.key_data = data.data(), problem.kv.value_data = data.data();
  problem.kv.key_scales = scales.data(), problem.kv.value_scales = scales.data();
  problem.kv.stride = 16;
  problem.kv_head_stride = 16;
  problem.first = &first, problem.last = &last;
  problem.options.head_dim = 16;
  EXPECT_THROW(kernels::attend_tiled(problem, pool), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Whole models: bf16 / q8_0 KV against f32 KV.

std::vector<int32_t> test_tokens(int64_t count, int64_t vocab, int64_t salt) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < count; ++i) ids.push_back(static_cast<int32_t>((i * 37 + salt * 13 + 11) % (vocab - 3) + 3));
  return ids;
}

// The logits of every step: the first `prompt` tokens fed in chunks of `chunk`, then one token at a time.
std::vector<std::vector<float>> step_logits(const Gemma4Config& config, KvType type, const std::vector<int32_t>& ids,
                                            int64_t prompt, int64_t chunk) {
  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = chunk;
  options.kv_type = type;
  CausalLM lm(Backbone::from_config(config, 11), nullptr, options);
  std::vector<std::vector<float>> out;
  out.push_back(lm.feed(std::vector<int32_t>(ids.begin(), ids.begin() + prompt)));
  for (size_t t = static_cast<size_t>(prompt); t < ids.size(); ++t) out.push_back(lm.feed({ids[t]}));
  return out;
}

struct Difference {
  double max_abs = 0;   // max |narrow - f32| over every step's logits
  double scale = 0;     // max |f32 logit|
};

Difference compare(const Gemma4Config& config, KvType type, int64_t chunk) {
  const auto ids = test_tokens(44, config.vocabulary_size, chunk);
  const auto wide = step_logits(config, KvType::kF32, ids, 13, chunk);
  const auto narrow_run = step_logits(config, type, ids, 13, chunk);
  Difference d;
  for (size_t s = 0; s < wide.size(); ++s) {
    for (size_t i = 0; i < wide[s].size(); ++i) {
      d.max_abs = std::max<double>(d.max_abs, std::fabs(narrow_run[s][i] - wide[s][i]));
      d.scale = std::max<double>(d.scale, std::fabs(wide[s][i]));
    }
  }
  return d;
}

// The bound of docs/numerics.md: each stored element's relative rounding u (bf16: 2^-8; q8_0: 1/254 of its
// block's largest magnitude, which for RMS-normed keys and values is at most ~3.5x their RMS, so
// u = 3.5 / 254 of the typical element), carried into the logits with a gain of at most 4 (measured gains
// 0.1-1.5 on these configs): max |logit difference| <= 4 u max |logit|.
double bound(KvType type, double scale) {
  const double u = type == KvType::kBf16 ? std::ldexp(1.0, -8) : 3.5 / 254.0;
  return 4.0 * u * scale;
}

Gemma4Config oracle_config(const std::string& name) {
  return config_from_file(std::string(GEMMA4_SOURCE_DIR) + "/tests/oracle/configs/" + name + ".json");
}

void expect_within_bound(const std::string& label, const Gemma4Config& config, KvType type) {
  for (int64_t chunk : {1, 5, 16}) {
    const Difference d = compare(config, type, chunk);
    EXPECT_LE(d.max_abs, bound(type, d.scale)) << label << " " << kv_type_name(type) << " chunk " << chunk
                                               << ": max |logit| " << d.scale;
    EXPECT_GT(d.max_abs, 0.0) << label << " " << kv_type_name(type) << ": no difference at all (not rounded?)";
    std::printf("[ kv %s ] %s chunk %lld: max |diff| %.3g of max |logit| %.3g (gain %.2f of u)\n", kv_type_name(type),
                label.c_str(), static_cast<long long>(chunk), d.max_abs, d.scale,
                d.max_abs / d.scale / (type == KvType::kBf16 ? std::ldexp(1.0, -8) : 3.5 / 254.0));
  }
}

TEST(KvTypes, OracleConfigsWithinBound) {
  // all: K=V, KV sharing, MoE, PLE, window 8 (the 44 tokens wrap each ring); dense and kv_moe: head_dim 16.
  const Gemma4Config all = oracle_config("all");
  ASSERT_GT(all.num_kv_shared_layers, 0);
  expect_within_bound("all.json", all, KvType::kBf16);
  expect_within_bound("all.json", all, KvType::kQ8_0);
  for (const char* name : {"dense", "kv_moe", "ple_kvshare"}) {
    const Gemma4Config config = oracle_config(name);
    expect_within_bound(std::string(name) + ".json", config, KvType::kBf16);
    if (config.head_dim % 32 != 0) EXPECT_THROW(compare(config, KvType::kQ8_0, 4), Error) << name;
  }
}

TEST(KvTypes, TinyRandomConfigsWithinBound) {
  Gemma4Config tiny = builtin_tiny_config();
  tiny.sliding_window_size = 5;  // the 44 tokens wrap the rings several times
  expect_within_bound("tiny", tiny, KvType::kBf16);
  Gemma4Config wide = q8_capable_tiny();
  wide.sliding_window_size = 6;
  expect_within_bound("tiny head_dim 32/64", wide, KvType::kBf16);
  expect_within_bound("tiny head_dim 32/64", wide, KvType::kQ8_0);
}

// ---------------------------------------------------------------------------------------------------------
// bf16 through the batch engine and prefix reuse.

TEST(KvTypes, Bf16BatchGivesEachSequenceWhatItGetsAlone) {
  Gemma4Config config = builtin_tiny_config();
  config.sliding_window_size = 5;
  CausalLM::Options lm_options;
  lm_options.max_context = 96;
  lm_options.prefill_chunk = 4;
  ASSERT_EQ(lm_options.kv_type, KvType::kBf16);  // the default
  CausalLM lm(Backbone::from_config(config, 5), nullptr, lm_options);
  GenerationConfig generation;
  generation.max_new_tokens = 12;
  generation.sampling = SamplingConfig::greedy();
  generation.stop_token_ids = {-7};  // nothing stops early
  const int sequences = 4;
  std::vector<std::vector<int32_t>> prompts, alone;
  for (int i = 0; i < sequences; ++i) {
    prompts.push_back(test_tokens(3 + 9 * i, config.vocabulary_size, i));
    lm.reset();
    alone.push_back(lm.generate(prompts.back(), generation).tokens);
  }
  BatchOptions options;
  options.max_sequences = sequences;
  options.max_context = 96;
  options.prefill_chunk = 4;
  ASSERT_EQ(options.kv_type, KvType::kBf16);
  BatchGenerator batch(lm, options);
  std::map<int, std::vector<int32_t>> batched;
  for (int i = 0; i < sequences; ++i) {
    SequenceRequest request;
    request.prompt = prompts[i];
    request.config = generation;
    request.on_done = [&batched, i](const GenerationResult& result) { batched[i] = result.tokens; };
    batch.add(std::move(request));
  }
  while (batch.step()) {
  }
  for (int i = 0; i < sequences; ++i) EXPECT_EQ(batched[i], alone[i]) << "sequence " << i;
}

// A batch slot cut back to a shared prefix (KvCache::truncate) and a CausalLM extending its cached prefix
// continue exactly as a fresh run of the whole prompt: narrow storage is per position, so reuse changes nothing.
TEST(KvTypes, PrefixReuseEqualsAFreshRun) {
  Gemma4Config config = q8_capable_tiny();
  config.sliding_window_size = 24;  // the shared prefix stays within the rings: the slot can be cut back
  for (KvType type : {KvType::kBf16, KvType::kQ8_0}) {
    CausalLM::Options options;
    options.max_context = 64;
    options.prefill_chunk = 4;
    options.kv_type = type;
    CausalLM lm(Backbone::from_config(config, 9), nullptr, options);
    GenerationConfig generation;
    generation.max_new_tokens = 6;
    generation.sampling = SamplingConfig::greedy();
    generation.stop_token_ids = {-7};
    const std::vector<int32_t> first = test_tokens(14, config.vocabulary_size, 1);
    std::vector<int32_t> second = first;
    second.resize(10);
    for (int32_t id : test_tokens(5, config.vocabulary_size, 2)) second.push_back(id);
    lm.reset();
    const std::vector<int32_t> fresh = lm.generate(second, generation).tokens;

    BatchOptions batch_options;
    batch_options.max_sequences = 1;  // the second prompt must take the first one's slot
    batch_options.max_context = 64;
    batch_options.prefill_chunk = 4;
    batch_options.kv_type = type;
    BatchGenerator batch(lm, batch_options);
    std::vector<GenerationResult> results;
    for (const std::vector<int32_t>* prompt : {&first, static_cast<const std::vector<int32_t>*>(&second)}) {
      SequenceRequest request;
      request.prompt = *prompt;
      request.config = generation;
      request.on_done = [&results](const GenerationResult& result) { results.push_back(result); };
      batch.add(std::move(request));
      while (batch.step()) {
      }
    }
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[1].prompt_tokens, 5) << kv_type_name(type) << ": the 10-token prefix was not reused";
    EXPECT_EQ(results[1].tokens, fresh) << kv_type_name(type);

    // CausalLM: the first prompt, then that prompt with its reply and more after it (an extended prefix).
    lm.reset();
    const std::vector<int32_t> reply = lm.generate(first, generation).tokens;
    std::vector<int32_t> longer = first;
    longer.insert(longer.end(), reply.begin(), reply.end() - 1);  // the last reply token was never fed
    for (int32_t id : test_tokens(4, config.vocabulary_size, 3)) longer.push_back(id);
    const GenerationResult extended = lm.generate(longer, generation);
    EXPECT_EQ(extended.prompt_tokens, 4) << kv_type_name(type);  // only the 4 new tokens run
    lm.reset();
    EXPECT_EQ(extended.tokens, lm.generate(longer, generation).tokens) << kv_type_name(type);
  }
}

}  // namespace
}  // namespace gemma4
