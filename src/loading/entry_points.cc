// The public ways in (Backbone::load / from_folder / from_config, CausalLM::load): each opens one
// Checkpoint and hands it to the one builder.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/load_options.h>

#include <optional>

#include "core/thread_pool.h"
#include "loading/build_backbone.h"
#include "loading/load_tokenizer.h"
#include "loading/open_checkpoint.h"

namespace gemma4 {

std::unique_ptr<Backbone> Backbone::load(const std::string& model, const LoadOptions& options) {
  return build_backbone(open_checkpoint(model, options), options);
}

std::unique_ptr<Backbone> Backbone::from_folder(const std::string& folder, const std::vector<std::string>& lora_adapters) {
  LoadOptions options;
  options.lora_adapters = lora_adapters;
  return load(folder, options);
}

std::unique_ptr<Backbone> Backbone::from_config(const Gemma4Config& config, uint64_t seed) {
  LoadOptions options;
  options.seed = seed;
  return from_config(config, options);
}

std::unique_ptr<Backbone> Backbone::from_config(const Gemma4Config& config, const LoadOptions& options) {
  Checkpoint checkpoint;
  checkpoint.path = "config";
  checkpoint.config = config;
  LoadOptions random = options;
  random.load_weights = false;
  return build_backbone(std::move(checkpoint), random);
}

std::unique_ptr<CausalLM> CausalLM::load(const std::string& model_path, const Options& options) {
  Checkpoint checkpoint = open_checkpoint(model_path, options);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(checkpoint.tokenizer);
  std::optional<ChatTemplate> chat_template;
  if (!options.chat_template_file.empty()) {
    chat_template = ChatTemplate::from_file(options.chat_template_file);
  } else if (!checkpoint.tokenizer.chat_template.empty()) {
    try {
      chat_template.emplace(checkpoint.tokenizer.chat_template, checkpoint.tokenizer.chat_template_origin);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (the model's own chat template; Options::chat_template_file / "
                  "--chat-template FILE uses another one)");
    }
  }
  const bool adds_bos = checkpoint.tokenizer.add_bos.value_or(true);
  auto backbone = build_backbone(std::move(checkpoint), options);
  auto lm = std::make_unique<CausalLM>(std::move(backbone), std::move(tokenizer), options);
  if (chat_template) lm->set_chat_template(std::move(*chat_template));
  lm->set_adds_bos(adds_bos);
  return lm;
}

ChatTemplate chat_template_for_model(const std::string& model) {
  const Checkpoint checkpoint = open_checkpoint(model);  // weights are mapped, not read
  if (!checkpoint.tokenizer.chat_template.empty()) {
    return ChatTemplate(checkpoint.tokenizer.chat_template, checkpoint.tokenizer.chat_template_origin);
  }
  return ChatTemplate::builtin_for(checkpoint.config);
}

void set_num_threads(int threads) { ThreadPool::set_global_threads(threads); }
int num_threads() { return ThreadPool::global().num_threads(); }

}  // namespace gemma4
