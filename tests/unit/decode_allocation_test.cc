// Decoding a token allocates nothing: every buffer of the text forward pass is the KvCache's
// TextActivations, sized once. Counted through a replacement of the global operator new that counts
// only while `counting` is set (it replaces operator new for the whole gemma4_tests binary, where it
// otherwise just forwards to malloc).
#include <gemma4/backbone.h>
#include <gemma4/lora_training.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "model/backbone_parts.h"
#include "model/kv_cache.h"
#include "model/text_model.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};

void* counted_malloc(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* counted_aligned(std::size_t size, std::align_val_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(alignment);
  const std::size_t rounded = (std::max<std::size_t>(size, 1) + align - 1) / align * align;
  if (void* p = std::aligned_alloc(align, rounded)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return counted_malloc(size); }
void* operator new[](std::size_t size) { return counted_malloc(size); }
void* operator new(std::size_t size, std::align_val_t alignment) { return counted_aligned(size, alignment); }
void* operator new[](std::size_t size, std::align_val_t alignment) { return counted_aligned(size, alignment); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace gemma4 {
namespace {

// Heap allocations (on any thread) while `body` runs.
template <typename Body>
int64_t allocations_during(const Body& body) {
  allocations.store(0);
  counting.store(true);
  body();
  counting.store(false);
  return allocations.load();
}

TEST(DecodeAllocations, CounterSeesAllocationsOnEveryThread) {
  // The hook is live: a vector in the caller and one in each pool thread are counted.
  const int threads = ThreadPool::global().num_threads();
  const int64_t seen = allocations_during([&] {
    std::vector<float> local(16);
    ThreadPool::global().parallel_for(threads, [](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        std::vector<float> each(16);
        each[0] = static_cast<float>(i);
      }
    });
  });
  EXPECT_GE(seen, 1 + threads);
}

struct WeightVariant {
  const char* name;
  const char* dtype;              // LoadOptions::dtype
  const char* quantize;           // LoadOptions::quantize
  bool bf16_activations = false;  // the opt-in AVX-512 BF16 products (where the CPU has them)
  bool lora = false;              // live LoRA adapters (Backbone::enable_lora) on every projection, b nonzero
};

void PrintTo(const WeightVariant& variant, std::ostream* out) { *out << variant.name; }

class DecodeAllocations : public ::testing::TestWithParam<WeightVariant> {};

// The tiny model with every text feature (PLE, KV sharing, K=V global layers, double-wide MLP, MoE,
// attention and final soft caps) and a window short enough that the decode steps wrap its ring.
TEST_P(DecodeAllocations, DecodeStepsAllocateNothing) {
  kernels::force_bf16_activations(GetParam().bf16_activations);
  struct Restore {
    ~Restore() { kernels::force_bf16_activations(false); }
  } restore;
  LoadOptions options;
  options.load_weights = false;
  options.seed = 3;
  options.dtype = GetParam().dtype;
  options.quantize = GetParam().quantize;
  // Wide enough that the matrix products and the attention run on the thread pool.
  options.overrides = {{"hidden_dim", "256"},         {"intermediate_dim", "512"},
                       {"head_dim", "64"},            {"global_head_dim", "128"},
                       {"enable_moe_block", "true"},  {"num_experts", "4"},
                       {"expert_intermediate_dim", "64"}, {"num_experts_per_token", "2"},
                       {"attention_logit_soft_cap", "50.0"}, {"sliding_window_size", "8"},
                       {"num_global_key_value_heads", "1"}};
  const auto backbone = Backbone::load("builtin:tiny", options);
  if (GetParam().lora) {
    LoraTrainingState& lora = backbone->enable_lora(
        4, {"query", "key", "value", "attention_output", "ffw_gating", "ffw_gating_2", "ffw_linear",
            "per_layer_input_gate", "per_layer_up_proj"});
    for (LoraLayer& layer : lora.layers()) std::fill(layer.b.begin(), layer.b.end(), 0.01f);
  }
  const TextModel& model = text_model_of(*backbone);
  const Gemma4Config& config = model.config();
  ASSERT_TRUE(config.enable_moe_block && config.has_ple() && config.num_kv_shared_layers > 0);

  constexpr int64_t kPrompt = 8, kWarmup = 2, kSteps = 24;
  KvCache cache(config, kPrompt + kWarmup + kSteps, kPrompt);
  std::vector<int32_t> prompt(kPrompt);
  for (int64_t i = 0; i < kPrompt; ++i) prompt[i] = static_cast<int32_t>(3 + 41 * i % 500);
  std::vector<float> hidden(static_cast<size_t>(config.hidden_dim));
  std::vector<float> logits(static_cast<size_t>(config.vocabulary_size));
  ChunkInput input;
  input.token_ids = prompt.data();
  input.length = kPrompt;
  model.forward_chunk_tail(input, cache, 1, hidden.data());
  model.logits(hidden.data(), 1, logits.data());

  int32_t next = 0;
  int64_t step_index = 0;
  // One decode step as generation runs it (forward_chunk_tail) or as bench does (forward_chunk).
  auto step = [&] {
    next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ChunkInput one;
    one.token_ids = &next;
    one.length = 1;
    if (step_index++ % 2 == 0) {
      model.forward_chunk_tail(one, cache, 1, hidden.data());
    } else {
      model.forward_chunk(one, cache, hidden.data());
    }
    model.logits(hidden.data(), 1, logits.data());
  };
  for (int64_t i = 0; i < kWarmup; ++i) step();  // thread-local kernel buffers reach their size
  const int64_t seen = allocations_during([&] {
    for (int64_t i = 0; i < kSteps; ++i) step();
  });
  EXPECT_EQ(seen, 0) << "heap allocations during " << kSteps << " decode steps of " << GetParam().name;
  EXPECT_EQ(cache.length(), kPrompt + kWarmup + kSteps);
}

INSTANTIATE_TEST_SUITE_P(Weights, DecodeAllocations,
                         ::testing::Values(WeightVariant{"f32", "", ""}, WeightVariant{"bf16", "bfloat16", ""},
                                           WeightVariant{"bf16_activations", "bfloat16", "", true},
                                           WeightVariant{"q8_0", "", "q8_0"}, WeightVariant{"q4_0", "", "q4_0"},
                                           WeightVariant{"q8_0_bf16_activations", "", "q8_0", true},
                                           WeightVariant{"f32_lora", "", "", false, true},
                                           WeightVariant{"q8_0_lora", "", "q8_0", false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace gemma4
