// The model-output parser (content, thought channel, tool calls): once over the whole text, then streamed in
// chunks whose sizes come from the first input byte, in and out of the thought channel.
#include <gemma4/output_parser.h>

#include <algorithm>
#include <string_view>

#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  for (const bool thought : {false, true}) {
    OutputParserOptions options;
    options.in_thought_channel = thought;
    parse_model_output(text, options);
    OutputStreamParser stream(options);
    for (size_t at = 0; at < text.size() && !stream.ended(); at += step) {
      stream.feed(text.substr(at, std::min(step, text.size() - at)));
    }
    stream.finish();
  }
  return 0;
}
