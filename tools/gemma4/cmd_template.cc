// gemma4 template: the exact prompt text a model gets for a conversation, rendered with the model's own chat
// template (or the built-in one for its architecture, or --chat-template FILE).
//
//   gemma4 template --model M --messages CONV.json [--tools TOOLS.json] [--thinking] [--no-generation-prompt]
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "command_registry.h"
#include "generation_options.h"

namespace {

struct TemplateArgs {
  std::string model;
  std::string messages;
  std::string tools;
  std::string chat_template;
  bool thinking = false;
  bool preserve_thinking = false;
  bool no_generation_prompt = false;
  bool show_origin = false;
};

std::string read_text(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw gemma4::Error(std::string(flag) + ": cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void run_template(const TemplateArgs& args) {
  using namespace gemma4;
  if (args.model.empty() && args.chat_template.empty()) throw Error("give --model M or --chat-template FILE");
  const ChatTemplate chat_template =
      args.chat_template.empty() ? chat_template_for_model(args.model) : ChatTemplate::from_file(args.chat_template);
  // The conversation: OpenAI-style messages (a list, or {"messages": [...], "tools": [...], ...}).
  ChatRequest request = parse_chat_request_json(read_text(args.messages, "--messages"));
  if (!args.tools.empty()) request.options.tools = cli::read_tool_list(args.tools);
  if (args.thinking) request.options.enable_thinking = true;
  if (args.preserve_thinking) request.options.preserve_thinking = true;
  if (args.no_generation_prompt) request.options.add_generation_prompt = false;
  const std::string prompt = chat_template.render(request.messages, request.options);
  if (args.show_origin) std::fprintf(stderr, "[template: %s]\n", chat_template.origin().c_str());
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
}

}  // namespace

GEMMA4_REGISTER_COMMAND(template, [](CLI::App& app) {
  auto args = std::make_shared<TemplateArgs>();
  auto* sub = app.add_subcommand("template", "Print the exact prompt text a model gets for a conversation");
  sub->add_option("--model", args->model, "The model whose chat template is used (no weights are read)");
  sub->add_option("--messages", args->messages, "JSON file: OpenAI-style messages, or a chat request")->required();
  sub->add_option("--tools", args->tools, "JSON file: the list of tools offered to the model");
  sub->add_option("--chat-template", args->chat_template, "Template file (.jinja or tokenizer_config.json) to use instead");
  sub->add_flag("--thinking", args->thinking, "Render with enable_thinking");
  sub->add_flag("--preserve-thinking", args->preserve_thinking, "Keep earlier tool-calling turns' reasoning");
  sub->add_flag("--no-generation-prompt", args->no_generation_prompt, "Leave out the model turn's opening");
  sub->add_flag("--show-origin", args->show_origin, "Say on stderr which template was used");
  sub->callback([args] { run_template(*args); });
});
