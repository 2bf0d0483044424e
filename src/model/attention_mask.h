// Which keys a query may attend to. One rule for every layer kind (KerasHub's _compute_attention_mask):
//   causal:        key <= query
//   sliding window (local layers, not bidirectional): query - key <= window - 1
//   bidirectional: every key of the sequence, but a padded query attends to nothing
//   padding keys are never visible.
#pragma once

#include <algorithm>
#include <cstdint>

namespace gemma4 {

struct MaskRule {
  bool bidirectional = false;
  bool windowed = false;
  int64_t window = 0;
};

struct KeyRange {
  int64_t first = 0;  // inclusive
  int64_t last = -1;  // inclusive; empty when last < first
};

// Keys [first, last] a query at absolute index `query` may see, before padding is applied, when the
// sequence so far holds `end` positions (keys beyond `query` exist only for bidirectional attention).
inline KeyRange visible_keys(const MaskRule& rule, int64_t query, int64_t end) {
  KeyRange range;
  range.last = rule.bidirectional ? end - 1 : query;
  range.first = rule.windowed ? std::max<int64_t>(0, query - rule.window + 1) : 0;
  return range;
}

}  // namespace gemma4
