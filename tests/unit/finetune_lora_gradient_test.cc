// KerasHub-shaped LoRA gradients through the backward pass (train/gradients.h) and the mapping of
// train/lora_state.h, against central finite differences of evaluate_loss on builtin:tiny.
#include <gemma4/backbone.h>
#include <gemma4/lora_training.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "loading/builtin_model.h"
#include "model/backbone_parts.h"
#include "train/gradients.h"
#include "train/lora_state.h"

namespace gemma4::train {
namespace {

TEST(FinetuneLoraGradient, MatchesFiniteDifferences) {
  auto backbone = Backbone::load(kBuiltinTinyModel);
  const TextModel& model = text_model_of(*backbone);
  LoraTrainingState state(backbone->config(), 2, {"query", "value", "attention_output", "ffw_linear"}, 0, 3);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (LoraLayer& layer : state.layers())
    for (float& v : layer.b) v = normal(rng);
  TrainSequence sequence;
  sequence.tokens = {2, 40, 41, 42, 43, 44, 45, 46, 47, 48};
  TrainableParameters parameters;
  parameters.lora = lora_parameters(state);
  ParameterGradients gradients;
  accumulate_gradients(model, parameters, sequence, gradients);
  auto loss = [&] {
    TrainableParameters p;
    p.lora = lora_parameters(state);
    return evaluate_loss(model, p, sequence).loss_sum;
  };
  int checked = 0;
  for (size_t i = 0; i < state.layers().size(); i += 3) {
    LoraLayer& layer = state.layers()[i];
    std::vector<float> da, db;
    lora_layer_gradient(layer, gradients.lora_a[i], gradients.lora_b[i], da, db);
    for (auto [values, grad] : {std::pair{&layer.a, &da}, std::pair{&layer.b, &db}}) {
      for (size_t j : {size_t{0}, values->size() / 2, values->size() - 1}) {
        const float keep = (*values)[j];
        const float eps = 1e-2f;
        (*values)[j] = keep + eps;
        const double up = loss();
        (*values)[j] = keep - eps;
        const double down = loss();
        (*values)[j] = keep;
        const double numeric = (up - down) / (2 * eps);
        EXPECT_NEAR((*grad)[j], numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << layer.tensor << " [" << j << "]";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace gemma4::train
