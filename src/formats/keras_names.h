// THE table between KerasHub variable paths in a Gemma4Backbone's model.weights.h5 and canonical
// tensor names (see weight_source.h), with the layout change each one needs. Another container
// naming is a change of this table, not of code.
//
// How Keras names the paths (checked against real KerasHub presets): the functional model's layers
// are named by snake_case class name, numbered "_1", "_2", ... in the model's layer order
// ("layers/rms_normalization", "layers/rms_normalization_1"); lists of blocks the same way
// ("gemma4_text_decoder_block", "gemma4_text_decoder_block_1", ...); sub-layers by attribute name;
// each object's own variables are "vars/0", "vars/1", ... in creation order.
#pragma once

#include <gemma4/config.h>

#include <string>
#include <vector>

#include "formats/keras_h5.h"
#include "schema/weight_source.h"

namespace gemma4 {

enum class KerasLayout {
  kSame,              // identical shape and order (norm scales, embeddings, biases, clip scalars)
  kScalar,            // Keras () -> [1] (layer_scalar)
  kTransposed,        // Keras kernel (in..., out) -> [out, prod(in)] (Dense kernels, o_proj (N, Hd, D))
  kHeadsFirst,        // Keras (heads, D, Hd) -> [heads * Hd, D] (q/k/v projections)
  kBatchTransposed,   // Keras (B, X, Y) -> [B, Y, X] (MoE down_proj (E, I, D) -> [E, D, I])
  kExpertsGateUp,     // Keras gate (E, D, I) + up (E, D, I) -> [E, 2I, D] (gate rows first)
  kConv2d,            // Keras (kh, kw, in, out) -> [out, in, kh, kw]
  kDepthwiseConv1d,   // Keras (k, C, 1) -> [C, 1, k]
};

enum class KerasPart {
  kText,    // required as the config says (tensor_names.h); missing or mis-shaped = error
  kVision,  // taken when present (the engine has no vision encoder yet)
  kAudio,   // taken when present
};

struct KerasNameRule {
  KerasPart part;
  // "{i}" stands for the block index (text layer, vision or audio encoder block).
  std::string canonical;
  // "{i}" stands for the block's container suffix ("" for block 0, "_<i>" after); "{n}" for the
  // suffix numbering the present rules that share this path, in table order (e.g. the model's
  // Dense layers: the PLE projection if any, then the pooling head's two).
  std::string keras;
  KerasLayout layout = KerasLayout::kSame;
  std::string keras_second;  // the up-projection bank of kExpertsGateUp
};

const std::vector<KerasNameRule>& keras_name_rules();

// Dataset path prefixes of the vision and audio encoders (their tensors are optional).
extern const char* const kKerasVisionPrefix;
extern const char* const kKerasAudioPrefix;

// Reads every tensor the table names from `store` into `source` under canonical names, in the
// stored dtype with the table's layout change applied. Text tensors are those `config` needs: a
// missing dataset or a wrong shape throws naming the file, the dataset and the tensor. Returns the
// datasets that no rule claimed.
std::vector<std::string> map_keras_weights(const KerasH5Store& store, const Gemma4Config& config, WeightSource& source);

}  // namespace gemma4
