// The training loop: micro-batches of packed sequences, gradient accumulation, clipping, AdamW on a warm-up +
// cosine schedule, evaluation, checkpoints that resume bit for bit, and a stop flag (Ctrl-C) honoured between
// steps. What computes losses and gradients is a GradientEngine (the backward pass; tests give synthetic ones).
#pragma once

#include <gemma4/lora_training.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/adamw.h"
#include "train/gradients.h"
#include "train/schedule.h"
#include "train/training_data.h"

namespace gemma4::train {

class GradientEngine {
 public:
  virtual ~GradientEngine() = default;
  // Adds d(loss_sum)/d(parameters) of one sequence to `gradients` (sized on first use), as accumulate_gradients.
  virtual LossResult accumulate(const TrainableParameters& parameters, const TrainSequence& sequence,
                                ParameterGradients& gradients) = 0;
  virtual LossResult evaluate(const TrainableParameters& parameters, const TrainSequence& sequence) = 0;
};

struct TrainerOptions {
  int64_t steps = 100;           // optimizer steps in all
  int64_t batch = 1;             // sequences per micro-batch
  int64_t accumulate = 1;        // micro-batches per optimizer step
  int64_t sequence_length = 512;
  LearningRateSchedule schedule;  // total_steps is set from `steps`
  AdamWOptions adamw;
  double max_grad_norm = 1.0;  // 0 = no clipping
  int64_t eval_every = 0;      // 0 = only at the end (when there is eval data)
  uint64_t seed = 0;           // data order
};

struct StepReport {
  int64_t step = 0;
  double loss = 0;           // mean nats per target token of this step
  int64_t target_tokens = 0;
  int64_t tokens = 0;        // tokens run this step
  double learning_rate = 0;
  double grad_norm = 0;      // before clipping
};

struct RunProgress {
  StepReport report;
  double tokens_per_second = 0;
  double eta_seconds = 0;
  double eval_loss = -1;  // >= 0 on evaluation steps
};

struct RunSummary {
  int64_t steps_done = 0;
  bool interrupted = false;
  double last_loss = 0;
  double eval_loss = -1;  // the last evaluation, -1 if none
};

class Trainer {
 public:
  // Trains `lora`'s factors (may be null) and/or `full` (float32 copies used in place of stored tensors).
  Trainer(GradientEngine& engine, LoraTrainingState* lora, std::vector<FullParameter> full,
          std::vector<TrainingExample> train_examples, std::vector<TrainingExample> eval_examples, TrainerOptions options);

  StepReport step();
  // Steps until options().steps (or until *stop is set, checked between steps), evaluating every eval_every
  // steps and at the end when there is eval data, saving a checkpoint to `checkpoint_folder` every
  // checkpoint_every steps (0: never in between) and always when it stops (finished or interrupted).
  RunSummary run(const std::string& checkpoint_folder, int64_t checkpoint_every,
                 const std::function<void(const RunProgress&)>& on_step = {}, const std::atomic<bool>* stop = nullptr);
  // Mean nats per target token over the evaluation data (the training data's first epoch order if none).
  double evaluate();
  bool has_eval_data() const { return !eval_sequences_.empty(); }

  int64_t step_count() const { return optimizer_.step_count(); }
  const TrainerOptions& options() const { return options_; }
  const std::vector<FullParameter>& full_parameters() const { return parameters_.full; }
  int64_t tokens_seen() const { return tokens_seen_; }

  // A folder holding trainer_state.json and state.safetensors (the factors or full tensors, AdamW moments,
  // step, data position); each file is written atomically, state first, and the step is recorded in both.
  void save_checkpoint(const std::string& folder) const;
  // Restores a checkpoint saved by a trainer with the same parameters (names and shapes are checked).
  void load_checkpoint(const std::string& folder);

 private:
  const TrainSequence& next_sequence();
  void refresh_lora_parameters();
  std::vector<ParameterSlot> slots();

  GradientEngine& engine_;
  LoraTrainingState* lora_;
  TrainerOptions options_;
  TrainableParameters parameters_;  // lora rebuilt from lora_ before each step; full owned here
  std::vector<TrainingExample> train_examples_;
  std::vector<TrainSequence> epoch_sequences_, eval_sequences_;
  int64_t epoch_ = 0, cursor_ = 0, tokens_seen_ = 0;
  AdamW optimizer_;
  std::vector<std::vector<float>> grad_a_, grad_b_;  // per LoRA layer, KerasHub shapes
  ParameterGradients gradients_;
};

}  // namespace gemma4::train
