// Loss and gradients of the text decoder for training. This header is the seam between the backward pass
// (src/train/backward*.cc, float32, frozen weights read as stored) and what trains with it (LoRA state,
// the optimizer, `gemma4 finetune`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {
class TextModel;
}

namespace gemma4::train {

// A low-rank update of one matrix W [out, in] (the Hugging Face orientation of its canonical tensor):
// W_eff = W + scale * B A, with A [rank, in] and B [out, rank] in float32 (PEFT's lora_A / lora_B).
struct LoraParameter {
  std::string tensor;  // canonical name, e.g. "layers.3.self_attn.q_proj.weight"
  int64_t rank = 0, in = 0, out = 0;
  float scale = 1.0f;   // alpha / rank
  std::vector<float> a;  // [rank, in]
  std::vector<float> b;  // [out, rank]
};

// Full-weight training: a float32 copy of one tensor, used in place of the stored one.
struct FullParameter {
  std::string tensor;  // canonical name, e.g. "layers.0.mlp.up_proj.weight" or "embed_tokens.weight"
  std::vector<int64_t> shape;
  std::vector<float> value;
};

struct TrainableParameters {
  std::vector<LoraParameter> lora;
  std::vector<FullParameter> full;
};

// Gradients in the parameters' layout: lora_a[i] / lora_b[i] match lora[i].a / .b, full[i] matches full[i].
// accumulate_gradients sizes (zero-fills) them on first use and adds to them afterwards.
struct ParameterGradients {
  std::vector<std::vector<float>> lora_a, lora_b, full;
};

// One training sequence. The loss sums -log p(tokens[t] | tokens[0..t)) over the positions t >= 1 with
// target_mask[t] != 0 (chat data: the model's turns only). Packed sequences attend across documents.
struct TrainSequence {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> target_mask;  // [tokens.size()]; empty = every position after the first
};

struct BackwardOptions {
  // Keep only each layer's input in the forward pass and recompute its internals during the backward
  // pass, so memory grows with layers x length x hidden, not with every intermediate.
  bool checkpoint_activations = true;
};

struct LossResult {
  double loss_sum = 0;       // summed cross-entropy in nats over the targets
  int64_t target_count = 0;  // positions that contributed
};

// Adds d(loss_sum)/d(parameter) to `gradients` for every trainable parameter and returns the loss.
LossResult accumulate_gradients(const TextModel& model, const TrainableParameters& parameters,
                                const TrainSequence& sequence, ParameterGradients& gradients,
                                const BackwardOptions& options = {});

// The same loss without gradients (evaluation).
LossResult evaluate_loss(const TextModel& model, const TrainableParameters& parameters, const TrainSequence& sequence);

}  // namespace gemma4::train
