// gemma4 generate: stream a model's answer to one prompt.
#include <gemma4/audio_features.h>
#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <cstdio>
#include <optional>

#include "cli_util.h"
#include "command_registry.h"
#include "generation_options.h"
#include "model_reply.h"

namespace {

struct GenerateArgs {
  gemma4::cli::GenerationOptions options;
  std::string prompt;
  std::string system;
  std::string tokens;
  bool raw = false;
  bool print_ids = false;
  std::vector<std::string> images;
  std::vector<std::string> audio;
};

// Images and audio clips from files, converted as the model's encoders expect.
gemma4::CausalLM::Media load_media(const GenerateArgs& args, const gemma4::CausalLM& lm) {
  using namespace gemma4;
  CausalLM::Media media;
  if (!args.images.empty() && !lm.backbone().has_vision()) {
    throw Error("--image: model '" + args.options.model + "' has no vision encoder");
  }
  if (!args.audio.empty() && !lm.backbone().has_audio()) {
    throw Error("--audio: model '" + args.options.model + "' has no audio encoder");
  }
  for (const auto& path : args.images) media.images.push_back(lm.backbone().prepare_image(load_image(path)));
  for (const auto& path : args.audio) {
    int64_t rate = 0;
    const std::vector<float> samples = load_wav(path, &rate);
    media.audio.push_back(lm.backbone().prepare_audio(samples, rate, path));
  }
  return media;
}

void run_generate(const GenerateArgs& args) {
  using namespace gemma4;
  if (args.options.threads > 0) set_num_threads(args.options.threads);
  if (args.prompt.empty() == args.tokens.empty()) throw Error("give exactly one of --prompt TEXT or --tokens IDS");
  auto lm = CausalLM::load(args.options.model, args.options.lm_options());

  const CausalLM::Media media = load_media(args, *lm);
  const bool has_media = !media.images.empty() || !media.audio.empty();
  std::vector<int32_t> prompt;
  if (!args.tokens.empty()) {
    if (has_media) throw Error("--image / --audio need --prompt (the placeholders are laid out from the text)");
    prompt = cli::parse_token_list(args.tokens);
  } else {
    if (!lm->tokenizer()) throw Error("model '" + args.options.model + "' has no tokenizer; use --tokens");
    std::string text = args.prompt;
    if (!args.raw) {
      // Images and clips go before the text of the user's turn; with --raw the text holds <|image|> /
      // <|audio|> itself, one per item.
      std::vector<ChatMessage> messages;
      if (!args.system.empty()) messages.push_back({"system", args.system});
      ChatMessage user{"user", args.prompt};
      if (has_media) {
        for (size_t i = 0; i < media.images.size(); ++i) user.parts.push_back({ChatContentPart::Kind::Image, ""});
        for (size_t i = 0; i < media.audio.size(); ++i) user.parts.push_back({ChatContentPart::Kind::Audio, ""});
        user.parts.push_back({ChatContentPart::Kind::Text, args.prompt});
      }
      messages.push_back(user);
      text = lm->chat_template().render(messages, args.options.template_options(*lm));
    }
    // A raw prompt is a document: behind <bos> when the tokenizer adds one (base models expect it), unless the
    // text already starts with it. Chat prompts carry <bos> from the template.
    if (args.raw && lm->adds_bos() && lm->tokenizer()->bos_id() >= 0) {
      const std::string bos = lm->tokenizer()->token_to_piece(lm->tokenizer()->bos_id());
      if (text.compare(0, bos.size(), bos) != 0) text = bos + text;
    }
    prompt = has_media ? lm->tokenize_with_media(text, media) : lm->tokenizer()->encode(text);
  }

  GenerationConfig config = args.options.generation_config();
  // A chat reply is split into answer, thinking and tool calls as it streams; raw text and ids print as they come.
  std::optional<cli::ReplyPrinter> reply;
  if (!args.raw && args.tokens.empty() && !args.print_ids) reply.emplace(*lm->tokenizer(), args.options.show_thinking);
  bool first = true;
  auto on_token = [&](int32_t token, const std::string& text) {
    if (args.print_ids) {
      if (token >= 0) std::printf(first ? "%d" : ",%d", token);
      first = false;
    } else if (reply) {
      if (token >= 0) reply->push(token);
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    std::fflush(stdout);
    return true;
  };
  GenerationResult result = lm->generate(prompt, media, config, on_token);
  if (reply) reply->finish();
  std::printf("\n");
  std::fprintf(stderr, "[prompt: %lld tokens, %.2f tok/s | generated: %zu tokens, %.2f tok/s | stop: %s]\n",
               static_cast<long long>(result.prompt_tokens),
               result.prompt_seconds > 0 ? result.prompt_tokens / result.prompt_seconds : 0.0, result.tokens.size(),
               result.generation_seconds > 0 ? result.tokens.size() / result.generation_seconds : 0.0,
               result.stop_reason.c_str());
  cli::print_draft_stats(result);
}

}  // namespace

GEMMA4_REGISTER_COMMAND(generate, [](CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* sub = app.add_subcommand("generate", "Generate text for one prompt, streamed to stdout");
  args->options.add_to(sub);
  sub->add_option("--prompt", args->prompt, "The user's message (chat template applied unless --raw)");
  sub->add_option("--system", args->system, "A system prompt");
  sub->add_option("--tokens", args->tokens, "The prompt as comma-separated token ids (used as is)");
  sub->add_flag("--raw", args->raw, "Send the prompt text as is, without the chat template");
  sub->add_flag("--print-ids", args->print_ids, "Print generated token ids (comma-separated) instead of text");
  sub->add_option("--image", args->images, "An image for the prompt (PNG, JPEG, ...; repeatable; vision models)");
  sub->add_option("--audio", args->audio, "A 16 kHz WAV clip for the prompt (repeatable; E2B/E4B)");
  sub->callback([args] { run_generate(*args); });
});
