// gemma4 chat: an interactive multi-turn conversation. The KV cache is kept between turns, so each
// turn only runs the new tokens.
#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "command_registry.h"
#include "generation_options.h"

namespace {

struct ChatArgs {
  gemma4::cli::GenerationOptions options;
  std::string system;
  bool thinking = false;
};

void run_chat(const ChatArgs& args) {
  using namespace gemma4;
  if (args.options.threads > 0) set_num_threads(args.options.threads);
  CausalLM::Options lm_options;
  lm_options.max_context = args.options.context;
  lm_options.lora_adapters = args.options.lora;
  lm_options.mmproj = args.options.mmproj;
  auto lm = CausalLM::load(args.options.model, lm_options);
  if (!lm->tokenizer()) throw Error("model '" + args.options.model + "' has no tokenizer; chat needs one");
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::fprintf(stderr, "Chatting with %s. Type /reset to start over, Ctrl-D to quit.\n", args.options.model.c_str());

  std::vector<ChatMessage> messages;
  if (!args.system.empty()) messages.push_back({"system", args.system});
  const std::size_t first_turn = messages.size();
  ChatTemplateOptions template_options;
  template_options.enable_thinking = args.thinking;
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
    messages.push_back({"user", line});
    // The special tokens of the reply are kept so the thought channel can be told from the answer.
    std::string reply;
    std::vector<int32_t> reply_ids;
    auto on_token = [&](int32_t token, const std::string& text) {
      if (token >= 0) reply_ids.push_back(token);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    const auto prompt = lm->tokenizer()->encode(apply_chat_template(messages, template_options));
    GenerationResult result = lm->generate(prompt, config, on_token);
    std::printf("\n");
    const ModelReply parsed = parse_model_reply(lm->tokenizer()->decode(reply_ids));
    messages.push_back({"assistant", parsed.content});
    std::fprintf(stderr, "[%zu tokens, %.2f tok/s, stop: %s]\n", result.tokens.size(),
                 result.generation_seconds > 0 ? result.tokens.size() / result.generation_seconds : 0.0,
                 result.stop_reason.c_str());
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(chat, [](CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  auto* sub = app.add_subcommand("chat", "Interactive multi-turn chat (one message per line on stdin)");
  args->options.add_to(sub);
  sub->add_option("--system", args->system, "A system prompt");
  sub->add_flag("--thinking", args->thinking, "Let the model think before answering");
  sub->callback([args] { run_chat(*args); });
});
