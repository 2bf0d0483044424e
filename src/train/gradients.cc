// accumulate_gradients / evaluate_loss: embeddings and per-layer inputs, the decoder layers
// (decoder_layer.cc), the final norm, the tied head with its soft cap and the cross-entropy; then the
// same steps backwards. docs/training.md gives the maths.
#include "train/gradients.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "model/text_model.h"
#include "train/decoder_layer.h"
#include "train/op_grads.h"
#include "train/train_weights.h"

namespace gemma4::train {
namespace {

constexpr int64_t kLogitRows = 16;  // rows of [rows, vocab] logits held at once

std::vector<float> zeros(int64_t count) { return std::vector<float>(static_cast<size_t>(count), 0.0f); }

void check_sequence(const Gemma4Config& config, const TrainSequence& sequence) {
  const size_t length = sequence.tokens.size();
  if (!sequence.target_mask.empty() && sequence.target_mask.size() != length) {
    throw Error("training sequence: target_mask has " + std::to_string(sequence.target_mask.size()) +
                " entries for " + std::to_string(length) + " tokens");
  }
  for (size_t t = 0; t < length; ++t) {
    const int32_t id = sequence.tokens[t];
    if (id < 0 || id >= config.vocabulary_size || (config.has_ple() && id >= config.ple_vocab_size())) {
      throw Error("training sequence: token id " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is outside the vocabulary [0, " + std::to_string(config.vocabulary_size) + ")");
    }
  }
}

bool any_differentiated(const TrainLayerWeights& w) {
  for (const MatrixParam* m : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj,
                               &w.ple_gate, &w.ple_projection, &w.router_proj, &w.experts_gate_up, &w.experts_down}) {
    if (m->differentiated()) return true;
  }
  for (const VectorParam* v : {&w.input_norm, &w.post_attention_norm, &w.pre_ffn_norm, &w.post_ffn_norm, &w.q_norm,
                               &w.k_norm, &w.ple_post_norm, &w.router_scale, &w.router_per_expert_scale,
                               &w.pre_ffn_norm_2, &w.post_ffn_norm_1, &w.post_ffn_norm_2, &w.layer_scalar}) {
    if (v->grad != nullptr) return true;
  }
  return false;
}

class TrainingPass {
 public:
  TrainingPass(const TextModel& model, const TrainableParameters& parameters, const TrainSequence& sequence,
               ParameterGradients* gradients)
      : model_(model), config_(model.config()), sequence_(sequence),
        weights_(bind_train_weights(model, parameters, gradients)),
        length_(static_cast<int64_t>(sequence.tokens.size())), layers_(config_.num_layers),
        pass_(model, weights_, length_) {}

  LossResult run(bool backward, bool checkpoint) {
    LossResult result;
    targets_.clear();
    for (int64_t t = 1; t < length_; ++t) {
      if (sequence_.target_mask.empty() || sequence_.target_mask[static_cast<size_t>(t)] != 0) targets_.push_back(t);
    }
    if (targets_.empty()) return result;
    const int64_t T = length_, H = config_.hidden_dim;
    embed();
    kv_.assign(static_cast<size_t>(layers_), LayerKv{});
    inputs_.assign(static_cast<size_t>(layers_ + 1), {});
    inputs_[0] = hidden0_;
    tapes_.assign(checkpoint ? 1 : static_cast<size_t>(layers_), LayerTape{});
    const float* ple = config_.has_ple() ? ple_.data() : nullptr;
    for (int64_t layer = 0; layer < layers_; ++layer) {
      LayerTape& tape = tapes_[checkpoint ? 0 : static_cast<size_t>(layer)];
      tape.input = inputs_[static_cast<size_t>(layer)];
      inputs_[static_cast<size_t>(layer + 1)].resize(static_cast<size_t>(T * H));
      pass_.forward(layer, ple, tape, kv_, inputs_[static_cast<size_t>(layer + 1)].data());
      // Without checkpointing the tape holds the input; without a backward nothing needs it again.
      if ((!checkpoint || !backward) && layer > 0) std::vector<float>().swap(inputs_[static_cast<size_t>(layer)]);
    }
    const float* last = inputs_[static_cast<size_t>(layers_)].data();
    std::vector<float> final_normed = zeros(T * H), dfinal;
    kernels::rms_norm(last, weights_.final_norm.value, T, H, eps(), final_normed.data());
    if (backward) dfinal = zeros(T * H);
    result.loss_sum = head_loss(final_normed.data(), backward ? dfinal.data() : nullptr);
    result.target_count = static_cast<int64_t>(targets_.size());
    if (!backward) return result;

    std::vector<float> dh = zeros(T * H), dnext(static_cast<size_t>(T * H));
    rms_norm_backward(last, weights_.final_norm.value, dfinal.data(), T, H, eps(), dh.data(), weights_.final_norm.grad);
    for (auto& own : kv_) {
      own.dk.assign(own.k.size(), 0.0f);
      own.dv.assign(own.v.size(), 0.0f);
    }
    std::vector<float> dple = zeros(static_cast<int64_t>(ple_.size()));
    std::vector<float> scratch_output(static_cast<size_t>(T * H));
    const int64_t lowest = lowest_layer_to_differentiate();
    for (int64_t layer = layers_ - 1; layer >= lowest; --layer) {
      LayerTape& tape = tapes_[checkpoint ? 0 : static_cast<size_t>(layer)];
      if (checkpoint) {
        tape.input = inputs_[static_cast<size_t>(layer)];
        pass_.forward(layer, ple, tape, kv_, scratch_output.data());
      }
      pass_.backward(layer, ple, tape, kv_, dh.data(), dnext.data(), ple ? dple.data() : nullptr);
      std::swap(dh, dnext);
      if (!checkpoint) tape = LayerTape{};  // release as we go
    }
    if (lowest == 0) embed_backward(dh.data(), dple.data());
    return result;
  }

 private:
  float eps() const { return static_cast<float>(config_.layer_norm_epsilon); }

  bool embeddings_differentiated() const {
    return weights_.embed_tokens.differentiated() || weights_.embed_per_layer.differentiated() ||
           weights_.per_layer_model_projection.differentiated() || weights_.per_layer_projection_norm.grad != nullptr;
  }

  // Layers below the lowest one holding a trained parameter change no gradient (unless the embeddings
  // are trained): the backward stops there.
  int64_t lowest_layer_to_differentiate() const {
    if (embeddings_differentiated()) return 0;
    for (int64_t layer = 0; layer < layers_; ++layer) {
      if (any_differentiated(weights_.layers[static_cast<size_t>(layer)])) return layer;
    }
    return layers_;
  }

  // hidden0 = embed[id] * sqrt(H); ple = (norm(hidden0 W^T / sqrt(H)) + embed_per_layer[id] sqrt(P)) / sqrt(2).
  void embed() {
    const int64_t T = length_, H = config_.hidden_dim;
    hidden0_.resize(static_cast<size_t>(T * H));
    const float scale = model_.embedding_scale();
    for (int64_t t = 0; t < T; ++t) {
      float* row = hidden0_.data() + t * H;
      matrix_row(weights_.embed_tokens, sequence_.tokens[static_cast<size_t>(t)], row);
      for (int64_t i = 0; i < H; ++i) row[i] *= scale;
    }
    if (!config_.has_ple()) return;
    const int64_t P = config_.hidden_size_per_layer_input, row_width = layers_ * P;
    ple_projected_.resize(static_cast<size_t>(T * row_width));
    matrix_forward(weights_.per_layer_model_projection, hidden0_.data(), T, ple_projected_.data());
    const float projection_scale = 1.0f / std::sqrt(static_cast<float>(H));
    for (float& value : ple_projected_) value *= projection_scale;
    ple_.resize(ple_projected_.size());
    kernels::rms_norm(ple_projected_.data(), weights_.per_layer_projection_norm.value, T * layers_, P, eps(), ple_.data());
    const float token_scale = model_.ple_token_scale();
    const float combine = static_cast<float>(1.0 / std::sqrt(2.0));
    std::vector<float> token_row(static_cast<size_t>(row_width));
    for (int64_t t = 0; t < T; ++t) {
      matrix_row(weights_.embed_per_layer, sequence_.tokens[static_cast<size_t>(t)], token_row.data());
      float* out = ple_.data() + t * row_width;
      for (int64_t i = 0; i < row_width; ++i) out[i] = (out[i] + token_row[i] * token_scale) * combine;
    }
  }

  void embed_backward(float* dhidden0, const float* dple) {
    const int64_t T = length_, H = config_.hidden_dim;
    if (config_.has_ple()) {
      const int64_t P = config_.hidden_size_per_layer_input, row_width = layers_ * P;
      const float combine = static_cast<float>(1.0 / std::sqrt(2.0));
      const float token_scale = model_.ple_token_scale();
      std::vector<float> dnormed(static_cast<size_t>(T * row_width)), drow(static_cast<size_t>(row_width));
      for (int64_t i = 0; i < T * row_width; ++i) dnormed[i] = dple[i] * combine;
      if (weights_.embed_per_layer.differentiated()) {
        for (int64_t t = 0; t < T; ++t) {
          for (int64_t i = 0; i < row_width; ++i) drow[i] = dnormed[t * row_width + i] * token_scale;
          matrix_row_backward(weights_.embed_per_layer, sequence_.tokens[static_cast<size_t>(t)], drow.data());
        }
      }
      std::vector<float> dprojected = zeros(T * row_width);
      rms_norm_backward(ple_projected_.data(), weights_.per_layer_projection_norm.value, dnormed.data(), T * layers_, P,
                        eps(), dprojected.data(), weights_.per_layer_projection_norm.grad);
      const float projection_scale = 1.0f / std::sqrt(static_cast<float>(H));
      for (float& value : dprojected) value *= projection_scale;
      matrix_backward(weights_.per_layer_model_projection, hidden0_.data(), dprojected.data(), T, dhidden0);
    }
    if (!weights_.embed_tokens.differentiated()) return;
    const float scale = model_.embedding_scale();
    std::vector<float> drow(static_cast<size_t>(H));
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < H; ++i) drow[i] = dhidden0[t * H + i] * scale;
      matrix_row_backward(weights_.embed_tokens, sequence_.tokens[static_cast<size_t>(t)], drow.data());
    }
  }

  // Sum over the targets of -log softmax(cap(final lm_head^T))[token], a block of rows at a time; with
  // dfinal non-null, adds the gradient w.r.t. the final-normed rows there (and the head's parameters).
  double head_loss(const float* final_normed, float* dfinal) {
    const int64_t H = config_.hidden_dim, V = config_.vocabulary_size;
    const double cap = config_.final_logit_soft_cap.value_or(0.0);
    std::vector<float> rows, logits, dlogits, drows;
    double loss = 0.0;
    for (size_t first = 0; first < targets_.size(); first += kLogitRows) {
      const int64_t n = std::min<int64_t>(kLogitRows, static_cast<int64_t>(targets_.size() - first));
      rows.resize(static_cast<size_t>(n * H));
      for (int64_t i = 0; i < n; ++i) std::copy_n(final_normed + (targets_[first + i] - 1) * H, H, rows.data() + i * H);
      logits.resize(static_cast<size_t>(n * V));
      matrix_forward(weights_.lm_head, rows.data(), n, logits.data());
      if (cap > 0) kernels::soft_cap_inplace(logits.data(), n * V, static_cast<float>(cap));
      if (dfinal) dlogits.resize(static_cast<size_t>(n * V));
      for (int64_t i = 0; i < n; ++i) {
        const int32_t target = sequence_.tokens[static_cast<size_t>(targets_[first + i])];
        loss += softmax_cross_entropy(logits.data() + i * V, V, target, dfinal ? dlogits.data() + i * V : nullptr);
      }
      if (!dfinal) continue;
      if (cap > 0) soft_cap_backward_inplace(logits.data(), dlogits.data(), n * V, static_cast<float>(cap));
      drows.assign(static_cast<size_t>(n * H), 0.0f);
      matrix_backward(weights_.lm_head, rows.data(), dlogits.data(), n, drows.data());
      for (int64_t i = 0; i < n; ++i) {
        kernels::axpy(1.0f, drows.data() + i * H, dfinal + (targets_[first + i] - 1) * H, H);
      }
    }
    return loss;
  }

  const TextModel& model_;
  const Gemma4Config& config_;
  const TrainSequence& sequence_;
  TrainWeights weights_;
  int64_t length_, layers_;
  DecoderPass pass_;
  std::vector<int64_t> targets_;
  std::vector<float> hidden0_, ple_projected_, ple_;
  std::vector<LayerKv> kv_;
  std::vector<std::vector<float>> inputs_;
  std::vector<LayerTape> tapes_;
};

}  // namespace

LossResult accumulate_gradients(const TextModel& model, const TrainableParameters& parameters,
                                const TrainSequence& sequence, ParameterGradients& gradients,
                                const BackwardOptions& options) {
  check_sequence(model.config(), sequence);
  TrainingPass pass(model, parameters, sequence, &gradients);
  return pass.run(true, options.checkpoint_activations);
}

LossResult evaluate_loss(const TextModel& model, const TrainableParameters& parameters, const TrainSequence& sequence) {
  check_sequence(model.config(), sequence);
  TrainingPass pass(model, parameters, sequence, nullptr);
  return pass.run(false, true);
}

}  // namespace gemma4::train
