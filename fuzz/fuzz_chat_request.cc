// A chat request as JSON (gemma4 tokenize --chat), rendered with the built-in mainline template.
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <string_view>

#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  try {
    const ChatRequest request = parse_chat_request_json(std::string_view(reinterpret_cast<const char*>(data), size));
    ChatTemplate::gemma4_mainline().render(request.messages, request.options);
  } catch (const Error&) {
  }
  return 0;
}
