// The KV memory of a batch engine (gemma4/batch.h): a fixed number of slots, each one sequence's KvCache of
// max_context positions, allocated once, plus the one TextActivations every batched step uses. A slot keeps
// the token ids whose keys it holds after its sequence ends, so that the next prompt sharing a prefix with
// them runs only the rest (per-sequence prefix reuse). Slots, not blocks: see docs/serving.md.
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/activations.h"
#include "model/kv_cache.h"

namespace gemma4 {

class KvCachePool {
 public:
  // `batch_rows`: the most rows one step runs (all sequences together).
  KvCachePool(const Gemma4Config& config, int64_t slots, int64_t max_context, int64_t max_chunk, int64_t batch_rows,
              KvType type = KvType::kF32);

  int64_t slots() const { return static_cast<int64_t>(slots_.size()); }
  int64_t free_slots() const;
  int64_t max_context() const { return max_context_; }
  int64_t bytes() const;  // key/value storage of every slot

  // Takes the free slot whose cached ids share the longest reusable prefix with `keys` (never all of them:
  // at least the last one must run, so that its logits come out), cuts it back to that prefix and returns
  // the slot; `*shared` gets the prefix length. Ties go to the slot released longest ago. Throws when none
  // is free.
  int64_t acquire(const std::vector<int32_t>& keys, int64_t* shared);
  void release(int64_t slot);

  KvCache& cache(int64_t slot) { return *slots_[slot].cache; }
  // The ids whose keys and values slot `slot` holds, in order (the caller appends what it runs).
  std::vector<int32_t>& history(int64_t slot) { return slots_[slot].history; }
  TextActivations& activations() { return activations_; }

 private:
  struct Slot {
    std::unique_ptr<KvCache> cache;
    std::vector<int32_t> history;
    bool busy = false;
    uint64_t released_at = 0;
  };
  std::vector<Slot> slots_;
  int64_t max_context_;
  uint64_t clock_ = 0;
  TextActivations activations_;
};

}  // namespace gemma4
