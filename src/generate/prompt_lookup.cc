#include "generate/prompt_lookup.h"

#include <gemma4/error.h>

#include <algorithm>

namespace gemma4 {

std::vector<int32_t> prompt_lookup_draft(const std::vector<int32_t>& context, int64_t max_tokens,
                                         const PromptLookupOptions& options) {
  if (options.min_ngram < 1 || options.max_ngram < options.min_ngram) {
    throw Error("prompt lookup needs 1 <= min_ngram <= max_ngram (got " + std::to_string(options.min_ngram) + ", " +
                std::to_string(options.max_ngram) + ")");
  }
  const int64_t size = static_cast<int64_t>(context.size());
  if (max_tokens <= 0) return {};
  for (int64_t n = std::min<int64_t>(options.max_ngram, size - 1); n >= options.min_ngram; --n) {
    const int64_t suffix = size - n;
    // Most recent first (the copy being made is usually the latest one), but a match so recent that the
    // context ends before max_tokens follow it (a run like "a a a" matching itself) gives way to an earlier
    // one with a full continuation. A match may overlap the suffix; at least one token must follow it.
    int64_t best_from = -1, best_count = 0;
    for (int64_t start = suffix - 1; start >= 0; --start) {
      if (!std::equal(context.begin() + start, context.begin() + start + n, context.begin() + suffix)) continue;
      const int64_t from = start + n;
      const int64_t count = std::min(size - from, max_tokens);
      if (count > best_count) best_from = from, best_count = count;
      if (count == max_tokens) break;
    }
    if (best_count > 0) {
      return std::vector<int32_t>(context.begin() + best_from, context.begin() + best_from + best_count);
    }
  }
  return {};
}

}  // namespace gemma4
