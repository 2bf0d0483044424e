// gemma4 forward: run the backbone once over token ids and dump logits / hidden states as .npy.
#include <gemma4/backbone.h>

#include <cstdio>

#include "cli_util.h"
#include "command_registry.h"
#include <gemma4/npy.h>

namespace {

struct ForwardArgs {
  std::string model;
  std::string tokens;
  std::string tokens_npy, padding_mask_npy, position_ids_npy;
  std::string logits_path, hidden_path, pooled_path, hidden_states_path;
  int threads = 0;
  std::vector<std::string> lora;
};

std::vector<int32_t> npy_to_ints(const gemma4::NpyArray& array) {
  std::vector<int32_t> out(array.values.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(array.values[i]);
  return out;
}

void run_forward(const ForwardArgs& args) {
  using namespace gemma4;
  if (args.threads > 0) set_num_threads(args.threads);
  auto backbone = Backbone::from_folder(args.model, args.lora);
  const auto& config = backbone->config();
  BackboneInputs inputs;
  if (!args.tokens_npy.empty()) {
    NpyArray ids = read_npy(args.tokens_npy);
    if (ids.shape.size() != 2) throw Error(args.tokens_npy + ": token ids must be a [batch, sequence] array");
    inputs.batch_size = ids.shape[0];
    inputs.sequence_length = ids.shape[1];
    inputs.token_ids = npy_to_ints(ids);
    if (!args.padding_mask_npy.empty()) inputs.padding_mask = npy_to_ints(read_npy(args.padding_mask_npy));
    if (!args.position_ids_npy.empty()) inputs.position_ids = npy_to_ints(read_npy(args.position_ids_npy));
  } else {
    if (args.tokens.empty()) throw Error("give the input as --tokens 2,17,300 or --tokens-npy FILE");
    inputs.token_ids = cli::parse_token_list(args.tokens);
    inputs.sequence_length = static_cast<int64_t>(inputs.token_ids.size());
  }
  ForwardOptions options;
  options.compute_logits = !args.logits_path.empty();
  options.keep_hidden_states = !args.hidden_states_path.empty();
  BackboneOutputs outputs = backbone->forward(inputs, options);
  const int64_t b = inputs.batch_size, t = inputs.sequence_length;
  // Single sequences are written without the batch dimension: logits [T, vocab], hidden [T, hidden].
  auto shape = [&](int64_t last) { return b == 1 ? std::vector<int64_t>{t, last} : std::vector<int64_t>{b, t, last}; };
  if (!args.logits_path.empty()) write_npy(args.logits_path, shape(config.vocabulary_size), outputs.logits.data());
  if (!args.hidden_path.empty()) write_npy(args.hidden_path, shape(config.hidden_dim), outputs.sequence_output.data());
  if (!args.hidden_states_path.empty()) {
    write_npy(args.hidden_states_path, {config.num_layers + 1, b, t, config.hidden_dim}, outputs.hidden_states.data());
  }
  if (!args.pooled_path.empty()) {
    if (!config.is_embedding_model) throw Error("--pooled needs an embedding model (is_embedding_model)");
    write_npy(args.pooled_path, b == 1 ? std::vector<int64_t>{*config.embedding_dim} : std::vector<int64_t>{b, *config.embedding_dim},
              outputs.pooled_output.data());
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(forward, [](CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* sub = app.add_subcommand("forward", "Run the backbone over token ids; write logits and hidden states as .npy");
  sub->add_option("--model", args->model, "Model folder")->required();
  sub->add_option("--tokens", args->tokens, "Comma-separated token ids, e.g. 2,17,300");
  sub->add_option("--tokens-npy", args->tokens_npy, "Token ids as a [batch, sequence] .npy array");
  sub->add_option("--padding-mask-npy", args->padding_mask_npy, "Padding mask [batch, sequence] (.npy, 1 = real token)");
  sub->add_option("--position-ids-npy", args->position_ids_npy, "Position ids [batch, sequence] (.npy)");
  sub->add_option("--dump-logits", args->logits_path, "Write logits [T, vocab] (after the final soft-cap)");
  sub->add_option("--dump-hidden", args->hidden_path, "Write final-normed hidden states [T, hidden]");
  sub->add_option("--dump-hidden-states", args->hidden_states_path, "Write every layer's output [L+1, B, T, hidden]");
  sub->add_option("--pooled", args->pooled_path, "Write the pooled embedding (embedding models)");
  sub->add_option("--threads", args->threads, "Worker threads (default: all cores)");
  sub->add_option("--lora", args->lora, "LoRA adapter merged on load: PEFT folder or KerasHub .lora.h5 (repeatable)");
  sub->callback([args] { run_forward(*args); });
});
