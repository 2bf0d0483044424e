// Keys and values of one sequence, per layer that computes them (KV-shared layers read their donor's).
// Sliding-window layers keep a ring of window-1+max_chunk positions, so their memory does not grow
// with the context; global layers keep every position up to max_context. The sequence's forward-pass
// working memory (activations.h) lives here too, sized for max_chunk tokens, unless the cache is one slot
// of a batch engine's pool (model/batch_engine.h), whose steps share one batch-sized TextActivations.
// Keys and values are stored as float32, bf16 or q8_0 (gemma4/kv_type.h): rows go in through store(), which
// rounds them, and attention (kernels::attend_tiled) widens them back to float32 as it loads each tile.
#pragma once

#include <gemma4/config.h>
#include <gemma4/kv_type.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/attention.h"
#include "model/activations.h"

namespace gemma4 {

class KvCache {
 public:
  // `with_activations` false: no working memory of its own (a pool slot; the batch's is used). float32 unless
  // told: the user-facing options (CausalLM::Options, BatchOptions) choose bf16 by default.
  KvCache(const Gemma4Config& config, int64_t max_context, int64_t max_chunk, bool with_activations = true,
          KvType type = KvType::kF32);

  int64_t length() const { return length_; }
  int64_t max_context() const { return max_context_; }
  int64_t max_chunk() const { return max_chunk_; }
  // Positions layer `layer` keeps (0 for KV-shared layers, which store nothing).
  int64_t capacity(int64_t layer) const { return layers_[layer].capacity; }
  KvType type() const { return type_; }

  // Writes the key and value rows [kv_heads * head_dim] of absolute position `index` into `layer`'s storage,
  // rounded to the cache's type (q8_0: one scale per 32 elements).
  void store(int64_t layer, int64_t index, const float* key, const float* value);
  // What the cache holds for position `index` of `layer`, widened to float32 (the values attention sees).
  void read_key(int64_t layer, int64_t index, float* out) const;
  void read_value(int64_t layer, int64_t index, float* out) const;
  // The keys and values of one KV head of `layer` (`offset` elements into each row, kv_head * head_dim),
  // by absolute position, in the cache's storage type.
  kernels::KeyValueRows rows(int64_t layer, int64_t offset) const;
  // Oldest absolute position still held by `layer` once `end` positions are written.
  int64_t oldest_kept(int64_t layer, int64_t end) const;
  // The most positions one query can see: the largest layer's capacity.
  int64_t key_capacity() const { return key_capacity_; }
  // Bytes of key/value storage (bytes_for: of a cache so made, without making it).
  int64_t bytes() const;
  static int64_t bytes_for(const Gemma4Config& config, int64_t max_context, int64_t max_chunk, KvType type);
  // Bytes one position takes, keys and values summed over the layers that store them (KV-shared layers
  // none): what the cache grows by per token while the sliding layers' rings are still filling; past the
  // window only the global layers' share (`global_only`) keeps growing.
  static int64_t bytes_per_position(const Gemma4Config& config, KvType type, bool global_only = false);

  // Whether the cache can be cut back to its first `length` positions and continue from there: every key a
  // later query may see must still be held (sliding layers' rings overwrite positions older than their
  // window plus a chunk).
  bool can_truncate(int64_t length) const;
  // Cuts the cache back to `length` positions (throws unless can_truncate(length)).
  void truncate(int64_t length);

  // Whether position `index` is a real token (padding positions are never attended to).
  bool valid(int64_t index) const { return valid_[static_cast<size_t>(index)] != 0; }
  void set_valid(int64_t index, bool is_valid) {
    valid_[static_cast<size_t>(index)] = is_valid ? 1 : 0;
    if (!is_valid) has_padding_ = true;
  }
  // Whether a padding position was ever written (then attention reads valid_flags()); the flags by position.
  bool has_padding() const { return has_padding_; }
  const uint8_t* valid_flags() const { return valid_.data(); }

  // Marks `count` more positions as written (after every layer has stored them).
  void advance(int64_t count) { length_ += count; }

  // Working memory of the forward pass over this sequence (one chunk at a time); throws for a pool slot.
  TextActivations& activations();

 private:
  // One of the typed buffers is used, by type_; q8_0 scales: one per 32 elements, in element order.
  struct Buffer {
    std::vector<float> f32;
    std::vector<uint16_t> bf16;
    std::vector<int8_t> q8;
    std::vector<float> scales;
  };
  struct LayerStore {
    int64_t capacity = 0;
    int64_t row = 0;  // elements per position
    Buffer keys, values;
  };
  void store_row(Buffer& buffer, int64_t element, int64_t count, const float* in) const;
  void read_row(const Buffer& buffer, int64_t element, int64_t count, float* out) const;

  std::vector<LayerStore> layers_;
  KvType type_;
  std::vector<uint8_t> valid_;
  bool has_padding_ = false;
  int64_t length_ = 0;
  int64_t max_context_;
  int64_t max_chunk_;
  int64_t window_;
  int64_t key_capacity_;
  std::unique_ptr<TextActivations> activations_;
};

}  // namespace gemma4
