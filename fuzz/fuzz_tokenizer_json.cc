// Hugging Face tokenizer.json: parse it into a tokenizer, then encode and decode a fixed string.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <string_view>

#include "fuzz_util.h"
#include "text/tokenizer_internal.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  try {
    const auto tokenizer =
        text::parse_hf_tokenizer_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    const auto ids = tokenizer->encode("Hello, world! <start_of_turn>user\n\xe4\xbd\xa0\xe5\xa5\xbd  \t1234 \xff");
    tokenizer->decode(ids);
    tokenizer->decode(ids, true);
  } catch (const Error&) {
  }
  return 0;
}
