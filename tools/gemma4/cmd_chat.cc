// gemma4 chat: an interactive multi-turn conversation. The KV cache is kept between turns, so each
// turn only runs the new tokens.
#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/openai.h>

#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "command_registry.h"
#include "generation_options.h"
#include "model_reply.h"

namespace {

struct ChatArgs {
  gemma4::cli::GenerationOptions options;
  std::string system;
};

void run_chat(const ChatArgs& args) {
  using namespace gemma4;
  if (args.options.threads > 0) set_num_threads(args.options.threads);
  auto lm = CausalLM::load(args.options.model, args.options.lm_options());
  if (!lm->tokenizer()) throw Error("model '" + args.options.model + "' has no tokenizer; chat needs one");
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::fprintf(stderr, "Chatting with %s. Type /reset to start over, Ctrl-D to quit.\n", args.options.model.c_str());

  std::vector<ChatMessage> messages;
  if (!args.system.empty()) messages.push_back({"system", args.system});
  const std::size_t first_turn = messages.size();
  const ChatTemplateOptions template_options = args.options.template_options(*lm);
  const GenerationConfig config = args.options.generation_config();

  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/reset") {
      messages.resize(first_turn);
      lm->reset();
      continue;
    }
    if (line.rfind("/tool ", 0) == 0) {  // the answer of a tool the model called: "/tool RESULT"
      ChatMessage result{"tool", line.substr(6)};
      if (!messages.empty() && !messages.back().tool_calls.empty()) {
        result.tool_call_id = messages.back().tool_calls.front().id;
        result.name = messages.back().tool_calls.front().name;
      }
      messages.push_back(result);
    } else {
      messages.push_back({"user", line});
    }
    // The reply streams through the output parser: the answer to stdout, thinking to stderr (--show-thinking),
    // tool calls as JSON lines; the conversation keeps all three.
    const std::string prompt_text = lm->chat_template().render(messages, template_options);
    // After a tool response with thinking on, Google's templates open the thought channel in the prompt.
    OutputParserOptions parser_options;
    parser_options.in_thought_channel = serve::prompt_opens_thought_channel(prompt_text);
    cli::ReplyPrinter reply(*lm->tokenizer(), args.options.show_thinking, parser_options);
    auto on_token = [&](int32_t token, const std::string&) {
      if (token >= 0) reply.push(token);
      return true;
    };
    const auto prompt = lm->tokenizer()->encode(prompt_text);
    GenerationResult result = lm->generate(prompt, config, on_token);
    messages.push_back(reply.finish());
    std::printf("\n");
    std::fprintf(stderr, "[%zu tokens, %.2f tok/s, stop: %s]\n", result.tokens.size(),
                 result.generation_seconds > 0 ? result.tokens.size() / result.generation_seconds : 0.0,
                 result.stop_reason.c_str());
    cli::print_draft_stats(result);
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(chat, [](CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  auto* sub = app.add_subcommand("chat", "Interactive multi-turn chat (one message per line on stdin)");
  args->options.add_to(sub);
  sub->add_option("--system", args->system, "A system prompt");
  sub->callback([args] { run_chat(*args); });
});
