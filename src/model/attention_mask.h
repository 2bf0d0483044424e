// Which keys a query may attend to: every mask rule of the text decoder, the vision encoder and the
// audio conformer. The attention itself (kernels/attention.h) only asks "is key j visible?".
//
// Text and vision (KerasHub's _compute_attention_mask):
//   causal:        key <= query
//   sliding window (local layers, not bidirectional): query - key <= window - 1
//   bidirectional: every key of the sequence, but a padded query attends to nothing
//   padding keys are never visible.
// Image blocks (text, use_vision_bidirectional_attention, sliding-type layers): tokens of one image
// also see each other, later ones included.
// Audio (chunked local attention): a causal window of max_past keys, padding keys invisible; a query
// with no visible key averages its whole block context (see ChunkedLocalMask).
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

// Whether a query attends at all: under bidirectional attention a padded query sees nothing (its row
// is zero); causal queries always see their past.
inline bool query_attends(const MaskRule& rule, bool query_valid) { return !rule.bidirectional || query_valid; }

// Image block ids of the rows of one chunk (0 = not an image token); a block is a run of equal non-zero
// ids. Null `ids`: no blocks.
struct ImageBlocks {
  const int32_t* ids = nullptr;
  int64_t chunk_start = 0;  // absolute position of row 0
  int64_t rows = 0;
};

// What one text query sees: the rule's range, widened by the query's image block (if any) to the
// whole block. span() holds every visible key; sees(j) picks them out of it (padding is the caller's).
class QueryMask {
 public:
  QueryMask(const MaskRule& rule, int64_t query, int64_t end, const ImageBlocks& blocks)
      : base_(visible_keys(rule, query, end)), span_(base_), blocks_(blocks) {
    const int64_t row = query - blocks.chunk_start;
    block_ = blocks.ids != nullptr ? blocks.ids[row] : 0;
    if (block_ == 0) return;
    int64_t block_first = row, block_last = row;
    while (block_first > 0 && blocks.ids[block_first - 1] == block_) --block_first;
    while (block_last + 1 < blocks.rows && blocks.ids[block_last + 1] == block_) ++block_last;
    span_.first = std::min(span_.first, blocks.chunk_start + block_first);
    span_.last = std::max(span_.last, blocks.chunk_start + block_last);
  }

  KeyRange span() const { return span_; }

  bool sees(int64_t key) const {
    if (key >= base_.first && key <= base_.last) return true;
    const int64_t row = key - blocks_.chunk_start;
    return block_ != 0 && row >= 0 && row < blocks_.rows && blocks_.ids[row] == block_;
  }

 private:
  KeyRange base_;
  KeyRange span_;
  ImageBlocks blocks_;
  int32_t block_ = 0;
};

// The audio conformer's chunked local attention (KerasHub causal_valid_mask w < c <= w + max_past over
// context slot c = key - block_start + max_past; HF: 0 <= query - key < max_past). Queries are grouped
// in blocks of `chunk` frames; each block's context is the chunk + max_past + right slots from
// block_start - max_past on.
struct ChunkedLocalMask {
  int64_t chunk = 0;
  int64_t max_past = 0;
  int64_t right = 0;

  // Keys a query at frame t may see, before padding: the causal window of max_past frames.
  KeyRange visible(int64_t t) const { return visible_keys({false, true, max_past}, t, t + 1); }

  // The context slots of t's block (positions may lie outside the clip). A query with no visible key
  // gets, as in the reference's blocked layout, a uniform average over all of them (every logit there
  // equals the same invalid value; slots outside the clip contribute zero vectors).
  KeyRange block_context(int64_t t) const {
    const int64_t first = (t / chunk) * chunk - max_past;
    return {first, first + chunk + max_past + right - 1};
  }
};

}  // namespace gemma4
