// Every weight the text decoder reads, as the training pass sees it: stored (frozen), replaced by a
// FullParameter, or with a LoRA update; with pointers into ParameterGradients where it is trained.
#pragma once

#include <vector>

#include "model/text_model.h"
#include "train/gradients.h"
#include "train/matrix_param.h"

namespace gemma4::train {

struct TrainLayerWeights {
  VectorParam input_norm, post_attention_norm, pre_ffn_norm, post_ffn_norm, q_norm, k_norm;
  MatrixParam q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
  MatrixParam ple_gate, ple_projection;
  VectorParam ple_post_norm;
  MatrixParam router_proj;
  VectorParam router_scale, router_per_expert_scale;
  MatrixParam experts_gate_up, experts_down;  // banks [E, 2I, H] and [E, H, I]
  VectorParam pre_ffn_norm_2, post_ffn_norm_1, post_ffn_norm_2;
  VectorParam layer_scalar;  // size 1
};

struct TrainWeights {
  MatrixParam embed_tokens, lm_head, embed_per_layer, per_layer_model_projection;
  VectorParam per_layer_projection_norm, final_norm;
  std::vector<TrainLayerWeights> layers;
};

// Binds `parameters` onto the model's weights by canonical tensor name. With `gradients` non-null,
// sizes them as accumulate_gradients documents and points every trained weight at its gradient.
// Throws gemma4::Error for a name the model does not have, a shape that does not match, a tensor named
// twice, or LoRA on an expert bank.
TrainWeights bind_train_weights(const TextModel& model, const TrainableParameters& parameters,
                                ParameterGradients* gradients);

}  // namespace gemma4::train
