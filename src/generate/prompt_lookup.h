// Prompt-lookup (n-gram) drafting: guesses the next tokens by finding the context's last n tokens earlier in
// the context and copying what followed them there. Model-free; pays off when the output repeats the input
// (rewriting, editing, quoting code).
#pragma once

#include <cstdint>
#include <vector>

namespace gemma4 {

struct PromptLookupOptions {
  int max_ngram = 3;  // the longest suffix tried first, then shorter ones down to min_ngram
  int min_ngram = 1;
};

// Up to `max_tokens` drafted ids following the most recent earlier occurrence of the context's last n tokens
// (n from max_ngram down to min_ngram; the first n with a match wins). Empty when nothing matches.
std::vector<int32_t> prompt_lookup_draft(const std::vector<int32_t>& context, int64_t max_tokens,
                                         const PromptLookupOptions& options = {});

}  // namespace gemma4
