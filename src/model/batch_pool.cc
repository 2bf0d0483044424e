#include "model/batch_pool.h"

#include <gemma4/error.h>

#include <algorithm>


namespace gemma4 {
namespace {

int64_t checked_batch_rows(int64_t slots, int64_t batch_rows) {
  if (slots <= 0) throw Error("a KV cache pool needs at least one slot");
  return batch_rows;
}

}  // namespace

KvCachePool::KvCachePool(const Gemma4Config& config, int64_t slots, int64_t max_context, int64_t max_chunk,
                         int64_t batch_rows, KvType type)
    : max_context_(max_context),
      activations_(config, checked_batch_rows(slots, batch_rows)) {
  if (batch_rows <= 0) throw Error("a batch needs room for at least one row");
  slots_.resize(static_cast<size_t>(slots));
  for (Slot& slot : slots_) {
    slot.cache = std::make_unique<KvCache>(config, max_context, max_chunk, /*with_activations=*/false, type);
    slot.history.reserve(static_cast<size_t>(max_context));
  }
}

int64_t KvCachePool::free_slots() const {
  return std::count_if(slots_.begin(), slots_.end(), [](const Slot& slot) { return !slot.busy; });
}

int64_t KvCachePool::bytes() const {
  int64_t total = 0;
  for (const Slot& slot : slots_) total += slot.cache->bytes();
  return total;
}

int64_t KvCachePool::acquire(const std::vector<int32_t>& keys, int64_t* shared) {
  int64_t best = -1, best_shared = -1;
  for (int64_t i = 0; i < slots(); ++i) {
    Slot& slot = slots_[i];
    if (slot.busy) continue;
    size_t common = 0;
    while (common < slot.history.size() && common + 1 < keys.size() && slot.history[common] == keys[common]) ++common;
    // A ring that has overwritten keys the prefix's continuation needs cannot be cut back: start over.
    int64_t usable = static_cast<int64_t>(common);
    if (!slot.cache->can_truncate(usable)) usable = 0;
    const bool better = usable > best_shared ||
                        (usable == best_shared && slot.released_at < slots_[best].released_at);
    if (better) {
      best = i;
      best_shared = usable;
    }
  }
  if (best < 0) throw Error("every KV cache slot is busy (" + std::to_string(slots()) + " sequences running)");
  Slot& slot = slots_[best];
  slot.busy = true;
  slot.cache->truncate(best_shared);
  slot.history.resize(static_cast<size_t>(best_shared));
  *shared = best_shared;
  return best;
}

void KvCachePool::release(int64_t slot) {
  slots_[slot].busy = false;
  slots_[slot].released_at = ++clock_;
}

}  // namespace gemma4
