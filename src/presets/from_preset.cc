// from_preset: architecture (config only) and backbone (with loaded or seeded random weights).
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>

#include "formats/model_folder.h"
#include "model/random_weights.h"
#include "model/tensor_names.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

void check_dtype(const std::string& dtype) {
  if (!dtype.empty() && dtype != "float32" && dtype != "bfloat16") {
    throw Error("preset dtype must be float32 or bfloat16 (got '" + dtype + "')");
  }
}

void reject_assistant_backbone(const PresetArchitecture& arch) {
  if (arch.assistant) {
    throw Error("preset '" + arch.preset +
                "' is an MTP assistant (draft) model: all its layers read keys and values from the target model's "
                "cache, so it cannot run as a standalone backbone (its architecture and parameter count are "
                "available through architecture_from_preset)");
  }
}

// The config of a folder or file without touching its weights (a GGUF file is memory-mapped, not read).
Gemma4Config config_on_disk(const std::string& path) {
  if (fs::is_directory(path)) return config_from_folder(path);
  return load_model(path).config;
}

// bfloat16 storage: every float32 matrix converted; everything else shared with the original source.
std::shared_ptr<WeightSource> matrices_as_bf16(const Gemma4Config& config, std::shared_ptr<WeightSource> source) {
  auto out = std::make_shared<WeightSource>();
  out->description = source->description + " (matrices as bfloat16)";
  out->keep_alive(source);
  std::map<std::string, TensorRole> roles;
  for (const auto& tensor : expected_text_tensors(config)) roles[tensor.name] = tensor.role;
  for (const auto& name : source->names()) {
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
  return out;
}

std::unique_ptr<Backbone> make_backbone(const Gemma4Config& config, std::shared_ptr<WeightSource> source) {
  ModelWeights weights = bind_weights(config, std::move(source));
  return std::make_unique<Backbone>(std::make_unique<TextModel>(config, std::move(weights)));
}

void apply_options(PresetArchitecture& arch, const PresetOptions& options) {
  check_dtype(options.dtype);
  std::map<std::string, std::string> overrides = options.overrides;
  // vision_encoder=null / audio_encoder=null drop an encoder (and its parameters), as in KerasHub.
  for (const char* key : {"vision_encoder", "audio_encoder"}) {
    const auto found = overrides.find(key);
    if (found == overrides.end()) continue;
    if (found->second != "null" && found->second != "None") {
      throw Error(std::string("override '") + key + "' accepts only null (got '" + found->second + "')");
    }
    if (std::string(key) == "vision_encoder") {
      arch.vision.reset();
    } else {
      arch.audio.reset();
    }
    overrides.erase(found);
  }
  if (!overrides.empty()) {
    if (arch.assistant) {
      throw Error("config overrides are not supported for the assistant preset '" + arch.preset + "'");
    }
    arch.config = apply_config_overrides(arch.config, overrides);
    // The encoders project into the text width: follow a changed hidden_dim.
    if (arch.vision) arch.vision->output_dim = arch.config.hidden_dim;
    if (arch.audio) arch.audio->output_dim = arch.config.hidden_dim;
  }
  if (!options.dtype.empty()) arch.config.dtype = options.dtype;
}

}  // namespace

int64_t PresetArchitecture::text_parameter_count() const { return count_text_parameters(config); }

int64_t PresetArchitecture::parameter_count() const {
  int64_t total = text_parameter_count();
  if (vision) total += count_vision_parameters(*vision);
  if (audio) total += count_audio_parameters(*audio);
  if (assistant) total += count_assistant_head_parameters(*assistant, config.hidden_dim);
  return total;
}

std::unique_ptr<Backbone> PresetArchitecture::build_random_backbone(uint64_t seed, const std::string& dtype) const {
  reject_assistant_backbone(*this);
  check_dtype(dtype);
  Gemma4Config built = config;
  if (!dtype.empty()) built.dtype = dtype;
  built.validate();
  const DType storage = built.dtype == "bfloat16" ? DType::BF16 : DType::F32;
  return make_backbone(built, make_random_weights(built, seed, storage));
}

PresetArchitecture architecture_from_preset(const std::string& preset, const PresetOptions& options) {
  PresetArchitecture arch;
  arch.preset = preset;
  const PresetInfo* info = fs::exists(preset) ? nullptr : find_builtin_preset(preset);
  if (info != nullptr) {
    arch.vision = info->vision;
    arch.audio = info->audio;
    arch.assistant = info->assistant;
  }
  if (info != nullptr && !options.load_weights) {
    arch.config = info->config;  // the built-in table: nothing on disk is needed
  } else {
    arch.path = resolve_preset_path(preset);
    arch.config = config_on_disk(arch.path);
    // A folder's config.json (Hugging Face or KerasHub) also sizes the vision and audio encoders.
    const std::string config_json = (fs::path(arch.path) / "config.json").string();
    if (fs::is_directory(arch.path) && fs::exists(config_json)) {
      if (has_vision_config(config_json)) arch.vision = vision_config_from_json(config_json);
      if (has_audio_config(config_json)) arch.audio = audio_config_from_json(config_json);
    }
  }
  apply_options(arch, options);
  return arch;
}

std::unique_ptr<Backbone> backbone_from_preset(const std::string& preset, const PresetOptions& options) {
  if (!options.load_weights) {
    const PresetArchitecture arch = architecture_from_preset(preset, options);
    return arch.build_random_backbone(options.seed, options.dtype);
  }
  if (const PresetInfo* info = find_builtin_preset(preset); info != nullptr && info->assistant && !fs::exists(preset)) {
    PresetArchitecture arch;
    arch.preset = preset;
    arch.assistant = info->assistant;
    reject_assistant_backbone(arch);
  }
  check_dtype(options.dtype);
  LoadedModel loaded = load_model(resolve_preset_path(preset));
  Gemma4Config config = apply_config_overrides(loaded.config, options.overrides);
  std::shared_ptr<WeightSource> source = loaded.weights;
  if (!options.dtype.empty()) config.dtype = options.dtype;
  if (options.dtype == "bfloat16") source = matrices_as_bf16(config, source);
  return make_backbone(config, std::move(source));
}

}  // namespace gemma4
