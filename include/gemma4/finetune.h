// Fine-tuning a model on JSON-lines data: KerasHub-style LoRA (gemma4/lora_training.h) or full weights, AdamW
// with warm-up and cosine decay, gradient clipping and accumulation, packing, evaluation, checkpoints and resume.
// What `gemma4 finetune` runs; docs/finetune.md describes the data and the outputs.
//
//   gemma4::FinetuneOptions o;
//   o.model = "builtin:tiny"; o.data = "train.jsonl"; o.out = "run1"; o.steps = 200; o.learning_rate = 2e-3;
//   gemma4::FinetuneResult r = gemma4::finetune(o);   // run1/adapter_config.json + adapter_model.safetensors
#pragma once

#include <gemma4/load_options.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace gemma4 {

struct FinetuneOptions {
  std::string model;        // anything Backbone::load accepts
  LoadOptions load;         // how it is loaded (lora_adapters are not allowed: train on the base)
  std::string data;         // JSON lines: {"messages": [...]} or {"text": "..."}
  std::string eval_data;    // optional, same format
  std::string out;          // folder for the adapter (or weights) and checkpoint/
  std::string resume;       // a folder with checkpoint/ (or a checkpoint folder itself) to continue from
  std::string format = "peft";  // "peft": out/adapter_config.json + adapter_model.safetensors; "keras": out/model.lora.h5

  // LoRA (KerasHub's enable_lora): rank, alpha (0 = rank), target layer names (empty = query, value).
  int64_t rank = 8;
  float alpha = 0;
  std::vector<std::string> targets;
  // Full-weight training instead of LoRA: every text tensor, or only the canonical names listed.
  bool full = false;
  std::vector<std::string> full_tensors;

  int64_t steps = 100;
  int64_t batch = 1;           // sequences per micro-batch
  int64_t accumulate = 1;      // micro-batches per optimizer step
  int64_t sequence_length = 512;
  double learning_rate = 1e-4;
  int64_t warmup_steps = 0;
  double final_lr_ratio = 0.0;   // cosine decay ends at learning_rate * this
  double weight_decay = 0.0;     // AdamW's decoupled decay
  double max_grad_norm = 1.0;    // 0: no clipping
  int64_t eval_every = 0;        // evaluation loss every K steps (0: at the end only)
  int64_t checkpoint_every = 0;  // 0: at the end (and on stop)
  uint64_t seed = 0;             // LoRA initialisation and data order
  bool checkpoint_activations = true;
};

struct FinetuneProgress {
  int64_t step = 0, total_steps = 0;
  double loss = 0;             // this step's mean nats per target token
  double learning_rate = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
  double eta_seconds = 0;
  double eval_loss = std::numeric_limits<double>::quiet_NaN();  // set on evaluation steps
};

struct FinetuneResult {
  int64_t steps_done = 0;
  bool interrupted = false;   // stopped by the stop flag; a checkpoint was saved
  double last_loss = 0;
  double eval_loss = std::numeric_limits<double>::quiet_NaN();
  int64_t trainable_parameters = 0;
  std::string output;         // the adapter folder / file, or the weights file of --full
  std::string checkpoint;     // the checkpoint folder
};

// Trains and writes the result. `on_progress` is called after every step; `stop` (e.g. set by a SIGINT
// handler) is checked between steps: the run then saves a checkpoint and the adapter and returns interrupted.
FinetuneResult finetune(const FinetuneOptions& options, const std::function<void(const FinetuneProgress&)>& on_progress = {},
                        const std::atomic<bool>* stop = nullptr);

// A flag that a SIGINT handler (installed on the first call, once per process) sets: Ctrl-C then ends a
// finetune run cleanly between steps, with a checkpoint, instead of killing it.
const std::atomic<bool>* stop_on_sigint();

}  // namespace gemma4
