#include "loading/build_backbone.h"

#include <gemma4/error.h>
#include <gemma4/lora.h>
#include <gemma4/preset.h>

#include <map>

#include "core/thread_pool.h"
#include "loading/open_checkpoint.h"
#include "loading/random_weights.h"
#include "model/backbone_parts.h"
#include "model/lora_merge.h"
#include "model/requantize.h"
#include "model/text_model.h"
#include "model/weights.h"
#include "schema/tensor_names.h"
#include "vision/make_vision_encoder.h"
#include "audio/make_audio_encoder.h"

namespace gemma4 {
namespace {

void check_dtype(const std::string& dtype) {
  if (!dtype.empty() && dtype != "float32" && dtype != "bfloat16") {
    throw Error("dtype must be float32 or bfloat16 (got '" + dtype + "')");
  }
}

DType quantize_target(const std::string& quantize) {
  if (quantize.empty() || quantize == "none") return DType::F32;
  if (quantize == "q8_0") return DType::Q8_0;
  if (quantize == "q4_0") return DType::Q4_0;
  throw Error("quantize must be none, q8_0 or q4_0 (got '" + quantize + "')");
}

// vision_encoder=null / audio_encoder=null drop an encoder (and its parameters), as in KerasHub; the rest
// are Gemma4Backbone arguments.
void apply_overrides(Checkpoint& checkpoint, std::map<std::string, std::string> overrides) {
  for (const char* key : {"vision_encoder", "audio_encoder"}) {
    const auto found = overrides.find(key);
    if (found == overrides.end()) continue;
    if (found->second != "null" && found->second != "None") {
      throw Error(std::string("override '") + key + "' accepts only null (got '" + found->second + "')");
    }
    if (std::string(key) == "vision_encoder") {
      checkpoint.vision.reset();
    } else {
      checkpoint.audio.reset();
    }
    overrides.erase(found);
  }
  if (overrides.empty()) return;
  checkpoint.config = apply_config_overrides(checkpoint.config, overrides);
  // The encoders project into the text width: follow a changed hidden_dim.
  if (checkpoint.vision) checkpoint.vision->output_dim = checkpoint.config.hidden_dim;
  if (checkpoint.audio) checkpoint.audio->output_dim = checkpoint.config.hidden_dim;
}

// bfloat16 storage: every float32 text matrix converted; everything else shared with the original source.
std::shared_ptr<WeightSource> matrices_as_bf16(const Gemma4Config& config, std::shared_ptr<WeightSource> source,
                                               const ProgressCallback& progress) {
  auto out = std::make_shared<WeightSource>();
  out->description = source->description + " (matrices as bfloat16)";
  out->keep_alive(source);
  std::map<std::string, TensorRole> roles;
  for (const auto& tensor : expected_text_tensors(config)) roles[tensor.name] = tensor.role;
  const auto names = source->names();
  int64_t done = 0;
  for (const auto& name : names) {
    if (progress) progress(Progress{"convert to bfloat16", done++, static_cast<int64_t>(names.size()), "tensors"});
    const SourceTensor* tensor = source->find(name);
    const auto role = roles.find(name);
    if (role == roles.end() || role->second != TensorRole::kMatrix || tensor->view.dtype != DType::F32) {
      out->add(name, tensor->view, tensor->origin);
      continue;
    }
    const int64_t count = tensor->view.numel();
    auto& buffer = out->new_buffer(dtype_row_bytes(DType::BF16, count));
    const auto* in = reinterpret_cast<const float*>(tensor->view.data);
    auto* bits = reinterpret_cast<uint16_t*>(buffer.data());
    for (int64_t i = 0; i < count; ++i) bits[i] = f32_to_bf16(in[i]);
    TensorView view = tensor->view;
    view.dtype = DType::BF16;
    view.data = buffer.data();
    view.nbytes = buffer.size();
    out->add(name, view, tensor->origin);
  }
  if (progress) progress(Progress{"convert to bfloat16", done, done, "tensors"});
  return out;
}

}  // namespace

void apply_architecture_options(Checkpoint& checkpoint, const LoadOptions& options, bool validate) {
  check_dtype(options.dtype);
  apply_overrides(checkpoint, options.overrides);
  if (!options.dtype.empty()) checkpoint.config.dtype = options.dtype;
  if (validate) checkpoint.config.validate();
}

void prepare_checkpoint(Checkpoint& checkpoint, const LoadOptions& options) {
  apply_architecture_options(checkpoint, options);
  const bool bf16 = checkpoint.config.dtype == "bfloat16";
  if (!options.load_weights || checkpoint.weights == nullptr) {
    // Random text weights only: the encoders of an architecture without weights are not materialized.
    checkpoint.weights = make_random_weights(checkpoint.config, options.seed, bf16 ? DType::BF16 : DType::F32);
    checkpoint.vision.reset();
    checkpoint.audio.reset();
    checkpoint.format = "random";
  } else if (options.dtype == "bfloat16") {
    checkpoint.weights = matrices_as_bf16(checkpoint.config, checkpoint.weights, options.progress);
  }
}

std::unique_ptr<Backbone> build_backbone(Checkpoint checkpoint, const LoadOptions& options) {
  if (options.threads > 0) ThreadPool::set_global_threads(options.threads);
  const DType quantize = quantize_target(options.quantize);
  attach_mmproj(checkpoint, options);  // before the overrides, so vision_encoder=null drops its encoder too
  prepare_checkpoint(checkpoint, options);
  ModelWeights weights = bind_weights(checkpoint.config, checkpoint.weights);
  for (const std::string& adapter : options.lora_adapters) {
    apply_lora(weights, read_lora_adapter(adapter, checkpoint.config));
  }
  if (quantize != DType::F32) requantize_matrices(weights, quantize, options.progress);
  // The encoders read their tensors from the same source, which the text model's weights keep alive.
  auto parts = std::make_unique<Backbone::Parts>();
  if (checkpoint.vision) parts->vision = make_vision_encoder(*checkpoint.weights, *checkpoint.vision);
  if (checkpoint.audio) parts->audio = make_audio_encoder(*checkpoint.weights, *checkpoint.audio);
  parts->text = std::make_unique<TextModel>(checkpoint.config, std::move(weights));
  return std::make_unique<Backbone>(std::move(parts));
}

}  // namespace gemma4
