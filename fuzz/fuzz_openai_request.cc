// The OpenAI-compatible server's request bodies: /v1/chat/completions and /v1/completions.
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/openai.h>

#include <string_view>

#include "fuzz_util.h"

using namespace gemma4;
using namespace gemma4::serve;

GEMMA4_FUZZ_TARGET {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    const CompletionRequest request = parse_chat_completion_request(body);
    ChatTemplateOptions options;
    options.tools = request.tools;
    ChatTemplate::gemma4_mainline().render(request.messages, options);
  } catch (const Error&) {
  }
  try {
    parse_completion_request(body);
  } catch (const Error&) {
  }
  return 0;
}
