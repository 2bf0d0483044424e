// gemma4 finetune: LoRA (KerasHub's enable_lora) or full-weight training on JSON-lines data (docs/finetune.md).
//
//   gemma4 finetune --model X --data train.jsonl [--eval eval.jsonl] --rank 8 --steps 200 --lr 1e-3 --out DIR
//   gemma4 generate --model X --lora DIR --prompt "..."
#include <gemma4/error.h>
#include <gemma4/finetune.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "command_registry.h"

namespace {

struct FinetuneArgs {
  gemma4::FinetuneOptions options;
  std::string targets;
  std::string full_tensors;
  int64_t print_every = 10;
  std::string dtype;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  }
  return text;
}

void run_finetune(FinetuneArgs& args) {
  gemma4::FinetuneOptions& o = args.options;
  o.targets = split_commas(args.targets);
  o.full_tensors = split_commas(args.full_tensors);
  if (!args.full_tensors.empty()) o.full = true;
  o.load.dtype = args.dtype;
  // A terminal gets one line redrawn in place; a pipe or file a line every --print-every steps.
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto on_progress = [&](const gemma4::FinetuneProgress& p) {
    char line[256];
    std::snprintf(line, sizeof line, "step %lld/%lld  loss %.4f  lr %.3g  %.0f tok/s  ETA %s",
                  static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss, p.learning_rate,
                  p.tokens_per_second, duration(p.eta_seconds).c_str());
    const bool eval = !std::isnan(p.eval_loss);
    if (terminal) {
      std::fprintf(stderr, "\r\033[K%s", line);
      if (eval) std::fprintf(stderr, "  eval loss %.4f\n", p.eval_loss);
    } else if (eval || p.step % std::max<int64_t>(args.print_every, 1) == 0 || p.step == p.total_steps || p.step == 1) {
      std::fprintf(stderr, "%s", line);
      if (eval) std::fprintf(stderr, "  eval loss %.4f", p.eval_loss);
      std::fprintf(stderr, "\n");
    }
  };
  const gemma4::FinetuneResult result = gemma4::finetune(o, on_progress, gemma4::stop_on_sigint());
  if (terminal) std::fprintf(stderr, "\n");
  if (result.interrupted) {
    std::fprintf(stderr, "interrupted at step %lld: checkpoint %s (continue with --resume %s)\n",
                 static_cast<long long>(result.steps_done), result.checkpoint.c_str(), o.out.c_str());
  }
  std::fprintf(stderr, "trained %lld parameters for %lld steps; last loss %.4f", static_cast<long long>(result.trainable_parameters),
               static_cast<long long>(result.steps_done), result.last_loss);
  if (!std::isnan(result.eval_loss)) std::fprintf(stderr, ", eval loss %.4f", result.eval_loss);
  std::fprintf(stderr, "\nwrote %s\n", result.output.c_str());
  if (result.interrupted) std::exit(130);
}

}  // namespace

GEMMA4_REGISTER_COMMAND(finetune, [](CLI::App& app) {
  auto args = std::make_shared<FinetuneArgs>();
  gemma4::FinetuneOptions& o = args->options;
  auto* sub = app.add_subcommand("finetune", "Train a LoRA adapter (or full weights) on JSON-lines data");
  sub->add_option("--model", o.model, "Model to train (folder, .gguf, preset or builtin:tiny)")->required();
  sub->add_option("--data", o.data, "Training data: JSON lines, {\"messages\": [...]} or {\"text\": \"...\"}")->required();
  sub->add_option("--eval", o.eval_data, "Evaluation data (same format)");
  sub->add_option("--out", o.out, "Output folder: the adapter and checkpoint/")->required();
  sub->add_option("--resume", o.resume, "Continue from this output (or checkpoint) folder");
  sub->add_option("--format", o.format, "Adapter format: peft (folder, default) or keras (DIR/model.lora.h5)");
  sub->add_option("--rank", o.rank, "LoRA rank (default 8)");
  sub->add_option("--alpha", o.alpha, "LoRA alpha (default: the rank, as KerasHub)");
  sub->add_option("--targets", args->targets,
                  "Comma-separated layers: KerasHub names (query,value,key,attention_output,ffw_gating,ffw_gating_2,"
                  "ffw_linear,...) or q_proj,v_proj,...; default query,value");
  sub->add_flag("--full", o.full, "Train every weight instead of LoRA (small models)");
  sub->add_option("--full-tensors", args->full_tensors, "With --full: only these canonical tensors (comma-separated)");
  sub->add_option("--steps", o.steps, "Optimizer steps (default 100)");
  sub->add_option("--lr", o.learning_rate, "Peak learning rate (default 1e-4)");
  sub->add_option("--warmup", o.warmup_steps, "Linear warm-up steps (default 0)");
  sub->add_option("--min-lr-ratio", o.final_lr_ratio, "Cosine decay ends at lr * this (default 0)");
  sub->add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay (default 0)");
  sub->add_option("--clip", o.max_grad_norm, "Clip gradients to this global norm (default 1; 0 = off)");
  sub->add_option("--batch", o.batch, "Sequences per micro-batch (default 1)");
  sub->add_option("--accum", o.accumulate, "Micro-batches per optimizer step (default 1)");
  sub->add_option("--seq-len", o.sequence_length, "Tokens per packed sequence (default 512)");
  sub->add_option("--eval-every", o.eval_every, "Evaluation loss every K steps (default: at the end)");
  sub->add_option("--checkpoint-every", o.checkpoint_every, "Checkpoint every K steps (default: at the end and on Ctrl-C)");
  sub->add_option("--seed", o.seed, "Seed of the LoRA initialisation and the data order (default 0)");
  sub->add_option("--dtype", args->dtype, "Frozen weights as: float32 or bfloat16 (default: as stored)");
  sub->add_option("--print-every", args->print_every, "Progress line every N steps when stderr is not a terminal");
  sub->callback([args] { run_finetune(*args); });
});
