#include "model/kv_cache.h"

#include <gemma4/error.h>

#include <algorithm>

#include "core/thread_pool.h"

namespace gemma4 {
namespace {

int64_t layer_capacity(const Gemma4Config& config, int64_t layer, int64_t max_context, int64_t max_chunk) {
  if (config.is_kv_shared(layer)) return 0;
  return config.is_windowed(layer) ? std::min(max_context, config.sliding_window_size - 1 + max_chunk) : max_context;
}

// The most positions one query can see: the largest layer's capacity (every visible key is held).
int64_t largest_capacity(const Gemma4Config& config, int64_t max_context, int64_t max_chunk) {
  if (max_context <= 0 || max_chunk <= 0) throw Error("KV cache needs a positive context length and chunk size");
  int64_t largest = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    largest = std::max(largest, layer_capacity(config, layer, max_context, max_chunk));
  }
  return largest;
}

}  // namespace

KvCache::KvCache(const Gemma4Config& config, int64_t max_context, int64_t max_chunk)
    : valid_(static_cast<size_t>(std::max<int64_t>(max_context, 0)), 0),
      max_context_(max_context),
      max_chunk_(max_chunk),
      activations_(config, max_chunk, largest_capacity(config, max_context, max_chunk),
                   ThreadPool::global().num_threads()) {
  layers_.resize(static_cast<size_t>(config.num_layers));
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    if (config.is_kv_shared(layer)) continue;
    auto& store = layers_[layer];
    store.capacity = layer_capacity(config, layer, max_context, max_chunk);
    store.row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
    store.keys.assign(static_cast<size_t>(store.capacity * store.row), 0.0f);
    store.values.assign(static_cast<size_t>(store.capacity * store.row), 0.0f);
  }
}

const float* KvCache::key(int64_t layer, int64_t index) const {
  const auto& store = layers_[layer];
  return store.keys.data() + (index % store.capacity) * store.row;
}

const float* KvCache::value(int64_t layer, int64_t index) const {
  const auto& store = layers_[layer];
  return store.values.data() + (index % store.capacity) * store.row;
}

kernels::KeyValueRows KvCache::rows(int64_t layer, int64_t offset) const {
  const auto& store = layers_[layer];
  return {store.keys.data() + offset, store.values.data() + offset, store.row, store.capacity};
}

int64_t KvCache::oldest_kept(int64_t layer, int64_t end) const {
  return std::max<int64_t>(0, end - layers_[layer].capacity);
}

}  // namespace gemma4
