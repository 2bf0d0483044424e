#include "model/kv_cache.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>

#include "core/dtype.h"


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

// q8_0 rows must be whole blocks of 32 within each KV head, so attention can start any head on a block.
void check_type(const Gemma4Config& config, KvType type) {
  if (type != KvType::kQ8_0) return;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    if (config.is_kv_shared(layer) || config.layer_head_dim(layer) % 32 == 0) continue;
    throw Error("--kv-type q8_0 needs head dimensions that are multiples of 32; layer " + std::to_string(layer) +
                " has " + std::to_string(config.layer_head_dim(layer)) + " (use bf16 or f32)");
  }
}

template <typename T>
void resize(std::vector<T>& data, int64_t count) {
  data.assign(static_cast<size_t>(count), T{});
}

}  // namespace

KvCache::KvCache(const Gemma4Config& config, int64_t max_context, int64_t max_chunk, bool with_activations,
                 KvType type)
    : type_(type),
      valid_(static_cast<size_t>(std::max<int64_t>(max_context, 0)), 0),
      max_context_(max_context),
      max_chunk_(max_chunk),
      window_(config.sliding_window_size),
      key_capacity_(largest_capacity(config, max_context, max_chunk)) {
  check_type(config, type);
  if (with_activations) {
    activations_ = std::make_unique<TextActivations>(config, max_chunk);
  }
  layers_.resize(static_cast<size_t>(config.num_layers));
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    if (config.is_kv_shared(layer)) continue;
    auto& store = layers_[layer];
    store.capacity = layer_capacity(config, layer, max_context, max_chunk);
    store.row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
    const int64_t elements = store.capacity * store.row;
    for (Buffer* buffer : {&store.keys, &store.values}) {
      switch (type) {
        case KvType::kF32: resize(buffer->f32, elements); break;
        case KvType::kBf16: resize(buffer->bf16, elements); break;
        case KvType::kQ8_0:
          resize(buffer->q8, elements);
          resize(buffer->scales, elements / 32);
          break;
      }
    }
  }
}

void KvCache::store_row(Buffer& buffer, int64_t element, int64_t count, const float* in) const {
  switch (type_) {
    case KvType::kF32:
      std::copy_n(in, count, buffer.f32.data() + element);
      return;
    case KvType::kBf16: {
      uint16_t* out = buffer.bf16.data() + element;
      for (int64_t i = 0; i < count; ++i) out[i] = f32_to_bf16(in[i]);
      return;
    }
    case KvType::kQ8_0: {
      // Per block: scale = max |x| / 127, q = x / scale rounded to nearest (|error| <= scale / 2).
      int8_t* out = buffer.q8.data() + element;
      float* scales = buffer.scales.data() + element / 32;
      for (int64_t b = 0; b < count / 32; ++b) {
        const float* x = in + 32 * b;
        float top = 0.0f;
        for (int i = 0; i < 32; ++i) top = std::max(top, std::fabs(x[i]));
        const float scale = top / 127.0f;
        const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
        scales[b] = scale;
        for (int i = 0; i < 32; ++i) {
          const float q = std::nearbyint(x[i] * inverse);
          out[32 * b + i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
        }
      }
      return;
    }
  }
}

void KvCache::read_row(const Buffer& buffer, int64_t element, int64_t count, float* out) const {
  switch (type_) {
    case KvType::kF32:
      std::copy_n(buffer.f32.data() + element, count, out);
      return;
    case KvType::kBf16:
      for (int64_t i = 0; i < count; ++i) out[i] = bf16_to_f32(buffer.bf16[static_cast<size_t>(element + i)]);
      return;
    case KvType::kQ8_0:
      for (int64_t i = 0; i < count; ++i) {
        const int64_t e = element + i;
        out[i] = static_cast<float>(buffer.q8[static_cast<size_t>(e)]) * buffer.scales[static_cast<size_t>(e / 32)];
      }
      return;
  }
}

void KvCache::store(int64_t layer, int64_t index, const float* key, const float* value) {
  auto& store = layers_[layer];
  const int64_t element = (index % store.capacity) * store.row;
  store_row(store.keys, element, store.row, key);
  store_row(store.values, element, store.row, value);
}

void KvCache::read_key(int64_t layer, int64_t index, float* out) const {
  const auto& store = layers_[layer];
  read_row(store.keys, (index % store.capacity) * store.row, store.row, out);
}

void KvCache::read_value(int64_t layer, int64_t index, float* out) const {
  const auto& store = layers_[layer];
  read_row(store.values, (index % store.capacity) * store.row, store.row, out);
}

kernels::KeyValueRows KvCache::rows(int64_t layer, int64_t offset) const {
  const auto& store = layers_[layer];
  kernels::KeyValueRows kv;
  kv.stride = store.row;
  kv.ring = store.capacity;
  kv.type = type_;
  switch (type_) {
    case KvType::kF32:
      kv.keys = store.keys.f32.data() + offset;
      kv.values = store.values.f32.data() + offset;
      break;
    case KvType::kBf16:
      kv.key_data = store.keys.bf16.data() + offset;
      kv.value_data = store.values.bf16.data() + offset;
      break;
    case KvType::kQ8_0:
      if (offset % 32 != 0) throw Error("q8_0 KV rows are read from whole blocks of 32 elements");
      kv.key_data = store.keys.q8.data() + offset;
      kv.value_data = store.values.q8.data() + offset;
      kv.key_scales = store.keys.scales.data() + offset / 32;
      kv.value_scales = store.values.scales.data() + offset / 32;
      break;
  }
  return kv;
}

TextActivations& KvCache::activations() {
  if (!activations_) throw Error("this KV cache is a batch pool slot: it has no working memory of its own");
  return *activations_;
}

int64_t KvCache::bytes_for(const Gemma4Config& config, int64_t max_context, int64_t max_chunk, KvType type) {
  int64_t total = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const int64_t row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
    total += 2 * layer_capacity(config, layer, max_context, max_chunk) * kv_type_row_bytes(type, row);
  }
  return total;
}

int64_t KvCache::bytes_per_position(const Gemma4Config& config, KvType type, bool global_only) {
  int64_t total = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    if (config.is_kv_shared(layer) || (global_only && config.is_windowed(layer))) continue;
    total += 2 * kv_type_row_bytes(type, config.layer_kv_heads(layer) * config.layer_head_dim(layer));
  }
  return total;
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto& store : layers_) total += 2 * store.capacity * kv_type_row_bytes(type_, store.row);
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
