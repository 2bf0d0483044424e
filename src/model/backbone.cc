#include <gemma4/backbone.h>
#include <gemma4/error.h>

#include <algorithm>

#include "formats/model_folder.h"
#include "model/random_weights.h"
#include "model/tensor_names.h"
#include "model/text_model.h"

namespace gemma4 {

Backbone::Backbone(std::unique_ptr<TextModel> model) : model_(std::move(model)) {}
Backbone::~Backbone() = default;

std::unique_ptr<Backbone> Backbone::from_folder(const std::string& folder) {
  LoadedModel loaded = load_model(folder);
  ModelWeights weights = bind_weights(loaded.config, loaded.weights);
  return std::make_unique<Backbone>(std::make_unique<TextModel>(loaded.config, std::move(weights)));
}

std::unique_ptr<Backbone> Backbone::from_config(const Gemma4Config& config, uint64_t seed) {
  config.validate();
  auto source = make_random_weights(config, seed, DType::F32);
  ModelWeights weights = bind_weights(config, source);
  return std::make_unique<Backbone>(std::make_unique<TextModel>(config, std::move(weights)));
}

const Gemma4Config& Backbone::config() const { return model_->config(); }

int64_t Backbone::parameter_count() const { return count_text_parameters(model_->config()); }

BackboneOutputs Backbone::forward(const BackboneInputs& inputs, const ForwardOptions& options) const {
  const Gemma4Config& config = model_->config();
  const int64_t batch = inputs.batch_size;
  const int64_t length = inputs.sequence_length;
  const int64_t width = config.hidden_dim;
  const size_t cells = static_cast<size_t>(batch * length);
  if (batch <= 0 || length <= 0) throw Error("forward needs a batch of at least one non-empty sequence");
  if (inputs.token_ids.size() != cells) {
    throw Error("token_ids holds " + std::to_string(inputs.token_ids.size()) + " ids but batch_size x sequence_length = " +
                std::to_string(cells));
  }
  if (!inputs.padding_mask.empty() && inputs.padding_mask.size() != cells) {
    throw Error("padding_mask holds " + std::to_string(inputs.padding_mask.size()) + " entries, expected " +
                std::to_string(cells));
  }
  if (!inputs.position_ids.empty() && inputs.position_ids.size() != cells) {
    throw Error("position_ids holds " + std::to_string(inputs.position_ids.size()) + " entries, expected " +
                std::to_string(cells));
  }

  BackboneOutputs outputs;
  outputs.sequence_output.resize(cells * width);
  if (options.compute_logits) outputs.logits.resize(cells * config.vocabulary_size);
  if (options.keep_hidden_states) outputs.hidden_states.resize((config.num_layers + 1) * cells * width);
  if (config.is_embedding_model) outputs.pooled_output.resize(static_cast<size_t>(batch * *config.embedding_dim));

  for (int64_t b = 0; b < batch; ++b) {
    const size_t offset = static_cast<size_t>(b * length);
    std::vector<uint8_t> valid(static_cast<size_t>(length), 1);
    if (!inputs.padding_mask.empty()) {
      for (int64_t t = 0; t < length; ++t) valid[t] = inputs.padding_mask[offset + t] != 0;
    }
    ChunkInput chunk;
    chunk.token_ids = inputs.token_ids.data() + offset;
    chunk.position_ids = inputs.position_ids.empty() ? nullptr : inputs.position_ids.data() + offset;
    chunk.valid = valid.data();
    chunk.length = length;
    KvCache cache(config, length, length);
    float* sequence_output = outputs.sequence_output.data() + offset * width;
    auto keep = [&](int64_t layer, const float* hidden) {
      float* target = outputs.hidden_states.data() + (static_cast<size_t>(layer + 1) * cells + offset) * width;
      std::copy_n(hidden, length * width, target);
    };
    model_->forward_chunk(chunk, cache, sequence_output,
                          options.keep_hidden_states ? std::function<void(int64_t, const float*)>(keep) : nullptr);
    if (options.compute_logits) {
      model_->logits(sequence_output, length, outputs.logits.data() + offset * config.vocabulary_size);
    }
    if (config.is_embedding_model) {
      auto pooled = model_->pool(sequence_output, valid.data(), length);
      std::copy(pooled.begin(), pooled.end(), outputs.pooled_output.begin() + b * *config.embedding_dim);
    }
  }
  return outputs;
}

}  // namespace gemma4
