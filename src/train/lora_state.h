// The bridge between KerasHub-shaped LoRA layers (gemma4/lora_training.h) and the backward pass's PEFT-shaped
// LoraParameter (train/gradients.h).
//
// A layer with kernel [G, X, Y] and factors a [G, X, r], b [r, Y] adds (alpha/r) a @ b to the kernel.
//  - heads_first (query/key/value; our matrix W [G*Y, X], row n*Y + y = kernel[n, :, y]): the update of head n
//    is b^T a_n^T, i.e. W += scale * B' A' with A' [G*r, X], A'[n*r + k, x] = a[n, x, k], and B' [G*Y, G*r]
//    block-diagonal with B'[n*Y + y, n*r + k] = b[k, y]. So d/da = d/dA' rearranged and d/db = the sum of the
//    diagonal blocks of d/dB' (b is tied across the blocks).
//  - otherwise (W [Y, G*X], column g*X + x = kernel[g, x, :]): a plain rank-r update, A' [r, G*X] = a^T and
//    B' [Y, r] = b^T.
#pragma once

#include <gemma4/lora_training.h>

#include <vector>

#include "train/gradients.h"

namespace gemma4::train {

// The factors in the backward pass's orientation (scale = alpha / rank).
LoraParameter lora_parameter(const LoraLayer& layer, float scale);
std::vector<LoraParameter> lora_parameters(const LoraTrainingState& state);

// The gradient of the loss with respect to layer.a / layer.b, from those of lora_parameter(layer)'s a and b.
void lora_layer_gradient(const LoraLayer& layer, const std::vector<float>& d_a_peft, const std::vector<float>& d_b_peft,
                         std::vector<float>& d_a, std::vector<float>& d_b);

// The Hugging Face module name PEFT uses for a canonical tensor ("layers.0.self_attn.q_proj.weight" ->
// "model.language_model.layers.0.self_attn.q_proj").
std::string peft_module_name(const std::string& tensor);

}  // namespace gemma4::train
