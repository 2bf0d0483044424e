// Gemma4Backbone: the text decoder with its weights, run over batches of token sequences.
#pragma once

#include <gemma4/config.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {

class TextModel;

struct BackboneInputs {
  int64_t batch_size = 1;
  int64_t sequence_length = 0;
  std::vector<int32_t> token_ids;     // [batch, sequence]
  std::vector<int32_t> padding_mask;  // [batch, sequence], 1 = real token; empty = all real
  std::vector<int32_t> position_ids;  // [batch, sequence]; empty = 0, 1, 2, ...
};

struct BackboneOutputs {
  std::vector<float> sequence_output;  // [batch, sequence, hidden], after the final norm
  std::vector<float> logits;           // [batch, sequence, vocab], after the final soft-cap
  std::vector<float> hidden_states;    // [layers + 1, batch, sequence, hidden], before the final norm
  std::vector<float> pooled_output;    // [batch, embedding_dim] for embedding models
};

struct ForwardOptions {
  bool compute_logits = true;
  bool keep_hidden_states = false;
};

class Backbone {
 public:
  // Loads a model folder (Hugging Face config.json + safetensors, or a KerasHub preset folder).
  static std::unique_ptr<Backbone> from_folder(const std::string& folder);
  // The architecture of `config` with seeded random weights (no file is read).
  static std::unique_ptr<Backbone> from_config(const Gemma4Config& config, uint64_t seed);

  explicit Backbone(std::unique_ptr<TextModel> model);
  ~Backbone();

  const Gemma4Config& config() const;
  const TextModel& text_model() const { return *model_; }
  // Parameters of the text backbone, counted as KerasHub counts them.
  int64_t parameter_count() const;

  BackboneOutputs forward(const BackboneInputs& inputs, const ForwardOptions& options = {}) const;

 private:
  std::unique_ptr<TextModel> model_;
};

}  // namespace gemma4
