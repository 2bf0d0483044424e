#include "model/kv_cache.h"

#include <gemma4/error.h>

#include <algorithm>


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

KvCache::KvCache(const Gemma4Config& config, int64_t max_context, int64_t max_chunk, bool with_activations)
    : valid_(static_cast<size_t>(std::max<int64_t>(max_context, 0)), 0),
      max_context_(max_context),
      max_chunk_(max_chunk),
      window_(config.sliding_window_size),
      key_capacity_(largest_capacity(config, max_context, max_chunk)) {
  if (with_activations) {
    activations_ = std::make_unique<TextActivations>(config, max_chunk);
  }
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

TextActivations& KvCache::activations() {
  if (!activations_) throw Error("this KV cache is a batch pool slot: it has no working memory of its own");
  return *activations_;
}

int64_t KvCache::bytes_for(const Gemma4Config& config, int64_t max_context, int64_t max_chunk) {
  int64_t total = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const int64_t row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
    total += 2 * layer_capacity(config, layer, max_context, max_chunk) * row * static_cast<int64_t>(sizeof(float));
  }
  return total;
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto& store : layers_) total += 2 * store.capacity * store.row * static_cast<int64_t>(sizeof(float));
  return total;
}

bool KvCache::can_truncate(int64_t length) const {
  if (length < 0 || length > length_) return false;
  // Later queries (at >= length) see keys from length - window + 1 on in sliding layers, all keys in global
  // ones; a ring that has overwritten any of those cannot go back.
  const int64_t needed_from = std::max<int64_t>(0, length - window_ + 1);
  if (needed_from >= length) return true;  // nothing kept is needed (length 0: start over)
  for (const auto& store : layers_) {
    if (store.capacity == 0 || store.capacity >= max_context_) continue;
    if (std::max<int64_t>(0, length_ - store.capacity) > needed_from) return false;
  }
  return true;
}

void KvCache::truncate(int64_t length) {
  if (!can_truncate(length)) {
    throw Error("the KV cache of " + std::to_string(length_) + " positions cannot be cut back to " +
                std::to_string(length) + " (its sliding-window rings no longer hold those keys)");
  }
  length_ = length;
}

int64_t KvCache::oldest_kept(int64_t layer, int64_t end) const {
  return std::max<int64_t>(0, end - layers_[layer].capacity);
}

}  // namespace gemma4
