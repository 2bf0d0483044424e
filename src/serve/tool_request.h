// The chat request's tool and thinking fields (tools, tool_choice, parallel_tool_calls, chat_template_kwargs),
// read into CompletionRequest; see gemma4/openai.h for what each does.
#pragma once

#include <gemma4/openai.h>

#include "text/chat_message_json.h"

namespace gemma4::serve {

// Throws text::JsonFieldError naming the field ("tools[1].function.name", "tool_choice", ...).
void parse_tool_fields(const text::OrderedJson& request_json, CompletionRequest& request);

}  // namespace gemma4::serve
