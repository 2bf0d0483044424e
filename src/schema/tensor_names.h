// The one table of the text model's tensors (a schema: it knows no model struct): canonical (Hugging Face) name, shape in terms of the
// config, when it is present, and the GGUF name. Loading, saving, converting, random models and
// parameter counts all walk this table.
#pragma once

#include <gemma4/config.h>

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace gemma4 {

enum class TensorRole {
  kMatrix,  // used by matmul in its stored type
  kVector,  // norm weights, scales: converted to float32
  kScalar,  // layer_scalar
};

struct TensorSpec {
  // Name with "{l}" standing for the layer index, e.g. "layers.{l}.self_attn.q_proj.weight".
  std::string name;
  std::string gguf_name;  // "blk.{l}.attn_q.weight"; empty if GGUF does not carry it
  bool per_layer;
  TensorRole role;
  std::function<bool(const Gemma4Config&, int64_t layer)> present;
  std::function<Shape(const Gemma4Config&, int64_t layer)> shape;
};

const std::vector<TensorSpec>& text_tensor_specs();

// "{l}" replaced by the layer index.
std::string expand_tensor_name(const std::string& pattern, int64_t layer);

// Every tensor (name, shape) the config needs, in table order, layers expanded.
struct ExpectedTensor {
  std::string name;
  std::string gguf_name;
  Shape shape;
  TensorRole role;
};
std::vector<ExpectedTensor> expected_text_tensors(const Gemma4Config& config);

// Parameter count as KerasHub counts it (every weight of the text backbone, layer_scalar included).
int64_t count_text_parameters(const Gemma4Config& config);

}  // namespace gemma4
