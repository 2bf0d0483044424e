// Prompt-lookup drafting: which suffix is matched, where the copy comes from, and its limits (hand-derived).
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include "generate/prompt_lookup.h"

namespace gemma4 {
namespace {

using Ids = std::vector<int32_t>;

TEST(PromptLookup, CopiesWhatFollowedTheLongestMatchingSuffix) {
  // Suffix "1 2 3" occurs at 0; what followed it there is 4 5 6 7.
  const Ids context{1, 2, 3, 4, 5, 6, 7, 9, 1, 2, 3};
  EXPECT_EQ(prompt_lookup_draft(context, 3), (Ids{4, 5, 6}));
  EXPECT_EQ(prompt_lookup_draft(context, 10), (Ids{4, 5, 6, 7, 9, 1, 2, 3}));  // up to the end of the context
  EXPECT_EQ(prompt_lookup_draft(context, 0), Ids{});
}

TEST(PromptLookup, PrefersLongerNgramsThenTheMostRecentMatch) {
  // The 3-gram "7 8 9" matches at 0 (-> 1); the 1-gram "9" alone would match more recently (at 5 -> 4).
  const Ids context{7, 8, 9, 1, 0, 9, 4, 7, 8, 9};
  EXPECT_EQ(prompt_lookup_draft(context, 1), (Ids{1}));
  // Only 1-grams match: the latest earlier "5" wins (followed by 8, not 6).
  const Ids single{5, 6, 0, 5, 8, 3, 5};
  EXPECT_EQ(prompt_lookup_draft(single, 2), (Ids{8, 3}));
  PromptLookupOptions only_bigrams;
  only_bigrams.min_ngram = 2;
  EXPECT_EQ(prompt_lookup_draft(single, 2, only_bigrams), Ids{});
}

TEST(PromptLookup, RunsOverlapTheSuffixAndNothingMatchesInFreshText) {
  EXPECT_EQ(prompt_lookup_draft(Ids{4, 4, 4, 4}, 3), (Ids{4}));  // "4 4 4" at 0 -> the one 4 after it
  // In a longer run the latest match ("8 8 8" at 3) leaves one token; the one at 0 leaves all three wanted.
  EXPECT_EQ(prompt_lookup_draft(Ids{8, 8, 8, 8, 8, 8, 8}, 3), (Ids{8, 8, 8}));
  // Among matches none of which leaves max_tokens, the one leaving the most wins.
  EXPECT_EQ(prompt_lookup_draft(Ids{6, 1, 2, 6, 3, 6}, 5), (Ids{1, 2, 6, 3, 6}));
  EXPECT_EQ(prompt_lookup_draft(Ids{1, 2, 3, 4}, 3), Ids{});
  EXPECT_EQ(prompt_lookup_draft(Ids{1}, 3), Ids{});
  EXPECT_EQ(prompt_lookup_draft(Ids{}, 3), Ids{});
  PromptLookupOptions bad;
  bad.min_ngram = 0;
  EXPECT_THROW(prompt_lookup_draft(Ids{1, 1}, 1, bad), Error);
}

}  // namespace
}  // namespace gemma4
