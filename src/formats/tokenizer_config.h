// The chat template stored in a tokenizer_config.json (or a processor's chat_template.json).
#pragma once

#include <string>
#include <string_view>

namespace gemma4 {

// "" when the file has no chat_template; with several named templates, the "default" one. Throws
// gemma4::Error naming `where` for invalid JSON or a chat_template of another shape.
std::string chat_template_from_tokenizer_config(std::string_view json_text, const std::string& where);

}  // namespace gemma4
