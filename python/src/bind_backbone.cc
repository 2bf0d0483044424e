// gemma4cpp._core.Backbone: gemma4::Backbone. Inputs are NumPy arrays (copied into the library's input
// vectors, which is small next to the weights); outputs are the library's vectors handed to NumPy without a copy;
// the token embedding is a read-only view of the stored matrix. The GIL is released while the model computes.
#include <gemma4/audio.h>
#include <gemma4/backbone.h>
#include <gemma4/config.h>
#include <gemma4/error.h>
#include <gemma4/lora_training.h>
#include <gemma4/preset.h>
#include <gemma4/vision.h>

#include <memory>

#include "bindings.h"

namespace gemma4::python {
namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

std::string shape_string(const py::array& array) {
  std::string out = "(";
  for (py::ssize_t i = 0; i < array.ndim(); ++i) out += (i ? ", " : "") + std::to_string(array.shape(i));
  return out + (array.ndim() == 1 ? ",)" : ")");
}

bool has_input(const py::dict& inputs, const char* name) { return inputs.contains(name) && !inputs[name].is_none(); }

// `inputs[name]` as a C-ordered array of T with `ndim` dimensions (converted if needed).
template <class T>
CArray<T> input_array(const py::dict& inputs, const char* name, py::ssize_t ndim) {
  if (!has_input(inputs, name)) throw py::value_error(std::string("inputs must hold '") + name + "'");
  CArray<T> array = CArray<T>::ensure(inputs[name]);
  if (!array) {
    PyErr_Clear();
    throw py::value_error(std::string("inputs['") + name + "'] is not a numeric array");
  }
  if (array.ndim() != ndim) {
    throw py::value_error(std::string("inputs['") + name + "'] must have " + std::to_string(ndim) +
                          " dimensions, got shape " + shape_string(array));
  }
  return array;
}

void expect_dim(const py::array& array, const char* name, py::ssize_t axis, py::ssize_t expected, const char* meaning) {
  if (array.shape(axis) != expected) {
    throw py::value_error(std::string("inputs['") + name + "'] has shape " + shape_string(array) + ": dimension " +
                          std::to_string(axis) + " must be " + std::to_string(expected) + " (" + meaning + ")");
  }
}

template <class T>
std::vector<T> to_vector(const CArray<T>& array) {
  return array.size() == 0 ? std::vector<T>() : std::vector<T>(array.data(), array.data() + array.size());
}

BackboneInputs make_inputs(const Backbone& backbone, const py::dict& inputs) {
  static const char* const kKnown[] = {"token_ids",    "padding_mask",   "position_ids",  "pixel_values",
                                       "pixel_position_ids", "vision_indices", "vision_mask",   "audio_mel",
                                       "audio_mel_mask", "audio_indices", "audio_mask"};
  for (const auto& [key, value] : inputs) {
    const std::string name = py::str(key);
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (!known) throw py::value_error("unknown input '" + name + "'; Gemma4Backbone takes token_ids, padding_mask, "
                                      "position_ids, pixel_values, pixel_position_ids, vision_indices, vision_mask, "
                                      "audio_mel, audio_mel_mask, audio_indices, audio_mask");
  }
  BackboneInputs in;
  const auto token_ids = input_array<int32_t>(inputs, "token_ids", 2);
  const py::ssize_t batch = token_ids.shape(0), length = token_ids.shape(1);
  in.batch_size = batch;
  in.sequence_length = length;
  in.token_ids = to_vector(token_ids);
  for (const char* name : {"padding_mask", "position_ids"}) {
    if (!has_input(inputs, name)) continue;
    const auto array = input_array<int32_t>(inputs, name, 2);
    expect_dim(array, name, 0, batch, "the batch of token_ids");
    expect_dim(array, name, 1, length, "the sequence length of token_ids");
    (std::string(name) == "padding_mask" ? in.padding_mask : in.position_ids) = to_vector(array);
  }

  if (has_input(inputs, "pixel_values")) {
    const auto pixel_values = input_array<float>(inputs, "pixel_values", 4);
    const VisionConfig* vision = backbone.vision_config();
    if (vision == nullptr) throw py::value_error("inputs['pixel_values'] given but this model has no vision encoder");
    const py::ssize_t images = pixel_values.shape(1), patches = pixel_values.shape(2);
    expect_dim(pixel_values, "pixel_values", 0, batch, "the batch of token_ids");
    expect_dim(pixel_values, "pixel_values", 3, 3 * vision->patch_size * vision->patch_size, "3 x patch_size^2");
    const int64_t pool = vision->pool_size * vision->pool_size;
    if (images < 1 || patches < pool || patches % pool != 0) {
      throw py::value_error("inputs['pixel_values'] has shape " + shape_string(pixel_values) +
                            ": it needs at least one image and a number of patches that is a multiple of pool_size^2 = " +
                            std::to_string(pool));
    }
    const auto positions = input_array<int32_t>(inputs, "pixel_position_ids", 4);
    expect_dim(positions, "pixel_position_ids", 0, batch, "the batch of token_ids");
    expect_dim(positions, "pixel_position_ids", 1, images, "images per sample, as pixel_values");
    expect_dim(positions, "pixel_position_ids", 2, patches, "patches per image, as pixel_values");
    expect_dim(positions, "pixel_position_ids", 3, 2, "(x, y)");
    const auto indices = input_array<int32_t>(inputs, "vision_indices", 2);
    expect_dim(indices, "vision_indices", 0, batch, "the batch of token_ids");
    if (indices.shape(1) < images || indices.shape(1) % images != 0) {
      throw py::value_error("inputs['vision_indices'] has shape " + shape_string(indices) +
                            ": its second dimension must be a positive multiple of the images per sample (" +
                            std::to_string(images) + ")");
    }
    in.images_per_sample = images;
    in.patches_per_image = patches;
    in.pixel_values = to_vector(pixel_values);
    in.pixel_position_ids = to_vector(positions);
    in.vision_indices = to_vector(indices);
    if (has_input(inputs, "vision_mask")) {
      const auto vision_mask = input_array<int32_t>(inputs, "vision_mask", 2);
      expect_dim(vision_mask, "vision_mask", 0, batch, "the batch of token_ids");
      expect_dim(vision_mask, "vision_mask", 1, length, "the sequence length of token_ids");
      in.vision_mask = to_vector(vision_mask);
    }
  }

  if (has_input(inputs, "audio_mel")) {
    const auto audio_mel = input_array<float>(inputs, "audio_mel", 4);
    const AudioConfig* audio = backbone.audio_config();
    if (audio == nullptr) throw py::value_error("inputs['audio_mel'] given but this model has no audio encoder");
    const py::ssize_t clips = audio_mel.shape(1), frames = audio_mel.shape(2);
    expect_dim(audio_mel, "audio_mel", 0, batch, "the batch of token_ids");
    expect_dim(audio_mel, "audio_mel", 3, audio->input_feat_size, "the audio encoder's mel bins");
    if (clips < 1 || frames < 1) throw py::value_error("inputs['audio_mel'] has shape " + shape_string(audio_mel) + ": no clips or frames");
    const auto mel_mask = input_array<int32_t>(inputs, "audio_mel_mask", 3);
    expect_dim(mel_mask, "audio_mel_mask", 0, batch, "the batch of token_ids");
    expect_dim(mel_mask, "audio_mel_mask", 1, clips, "clips per sample, as audio_mel");
    expect_dim(mel_mask, "audio_mel_mask", 2, frames, "frames per clip, as audio_mel");
    const auto indices = input_array<int32_t>(inputs, "audio_indices", 2);
    expect_dim(indices, "audio_indices", 0, batch, "the batch of token_ids");
    if (indices.shape(1) < clips || indices.shape(1) % clips != 0) {
      throw py::value_error("inputs['audio_indices'] has shape " + shape_string(indices) +
                            ": its second dimension must be a positive multiple of the clips per sample (" +
                            std::to_string(clips) + ")");
    }
    // audio_mask (KerasHub's [batch, sequence] flag of audio positions) follows from audio_indices here.
    if (has_input(inputs, "audio_mask")) {
      const auto audio_mask = input_array<int32_t>(inputs, "audio_mask", 2);
      expect_dim(audio_mask, "audio_mask", 0, batch, "the batch of token_ids");
      expect_dim(audio_mask, "audio_mask", 1, length, "the sequence length of token_ids");
    }
    in.clips_per_sample = clips;
    in.mel_frames = frames;
    in.audio_mel = to_vector(audio_mel);
    in.audio_mel_mask = to_vector(mel_mask);
    in.audio_indices = to_vector(indices);
  }
  return in;
}

py::dict forward(const Backbone& backbone, const py::dict& inputs, bool compute_logits, bool keep_hidden_states) {
  const BackboneInputs in = make_inputs(backbone, inputs);
  ForwardOptions options;
  options.compute_logits = compute_logits;
  options.keep_hidden_states = keep_hidden_states;
  BackboneOutputs out;
  {
    py::gil_scoped_release release;
    out = backbone.forward(in, options);
  }
  const Gemma4Config& config = backbone.config();
  const py::ssize_t b = in.batch_size, t = in.sequence_length, h = config.hidden_dim;
  py::dict result;
  result["sequence_output"] = to_numpy(std::move(out.sequence_output), {b, t, h});
  if (compute_logits) result["logits"] = to_numpy(std::move(out.logits), {b, t, config.vocabulary_size});
  if (keep_hidden_states) result["hidden_states"] = to_numpy(std::move(out.hidden_states), {config.num_layers + 1, b, t, h});
  if (config.is_embedding_model) result["pooled_output"] = to_numpy(std::move(out.pooled_output), {b, *config.embedding_dim});
  return result;
}

// The embedding matrix as stored, viewed (never copied) by a read-only NumPy array that keeps the backbone alive:
// float32 / float16 storage as those types, bfloat16 as its uint16 bit patterns, block-quantized storage as the
// raw bytes of each row. Returns (array, storage dtype name).
py::tuple token_embedding_view(const std::shared_ptr<Backbone>& backbone) {
  const WeightView view = backbone->token_embedding();
  auto* keep = new std::shared_ptr<const Backbone>(backbone);
  py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<const Backbone>*>(p); });
  const py::ssize_t rows = view.shape.at(0), cols = view.shape.at(1);
  void* data = const_cast<void*>(view.data);
  py::array array;
  if (view.dtype == "F32") {
    array = py::array(py::dtype::of<float>(), {rows, cols}, data, owner);
  } else if (view.dtype == "F16") {
    array = py::array(py::dtype("float16"), {rows, cols}, data, owner);
  } else if (view.dtype == "BF16") {
    array = py::array(py::dtype::of<uint16_t>(), {rows, cols}, data, owner);
  } else {
    array = py::array(py::dtype::of<uint8_t>(), {rows, static_cast<py::ssize_t>(view.nbytes) / rows}, data, owner);
  }
  array.attr("flags").attr("writeable") = false;
  return py::make_tuple(array, view.dtype);
}

// The live LoRA factors (Backbone::enable_lora) as writable NumPy views of the library's float32 buffers: writing
// into them changes the next forward pass. Each array keeps the LoRA state (and the backbone) alive, so a view
// taken before a later enable_lora stays valid memory (it then belongs to the replaced, unused state).
// Returns [(layer_name, block, tensor, a, b)] in the state's order (KerasHub's _flatten_layers order).
py::list lora_layer_views(const std::shared_ptr<Backbone>& backbone) {
  py::list out;
  const std::shared_ptr<LoraTrainingState> state = backbone->shared_lora_state();
  if (!state) return out;
  struct Keep {
    std::shared_ptr<LoraTrainingState> state;
    std::shared_ptr<Backbone> backbone;
  };
  const auto view = [&](std::vector<float>& values, const std::vector<int64_t>& shape) {
    auto* keep = new Keep{state, backbone};
    py::capsule owner(keep, [](void* p) { delete static_cast<Keep*>(p); });
    std::vector<py::ssize_t> dims(shape.begin(), shape.end());
    return py::array_t<float>(dims, values.data(), owner);  // writeable: the caller trains / sets them
  };
  for (LoraLayer& layer : state->layers()) {
    out.append(py::make_tuple(layer.layer_name, layer.block, layer.tensor, view(layer.a, layer.a_shape()),
                              view(layer.b, layer.b_shape())));
  }
  return out;
}

}  // namespace

void bind_backbone(py::module_& m) {
  py::class_<Backbone, std::shared_ptr<Backbone>>(m, "Backbone")
      .def_static(
          "from_config_json",
          [](const std::string& config_json, const py::dict& options) {
            const Gemma4Config config = config_from_keras_json(config_json, "Gemma4Backbone arguments");
            const LoadOptions load = load_options_from(options);
            py::gil_scoped_release release;
            return std::shared_ptr<Backbone>(Backbone::from_config(config, load));
          },
          py::arg("config_json"), py::arg("options") = py::dict(),
          "Random weights (options.seed) for the architecture of a KerasHub config, with the other load options.")
      .def_static(
          "from_preset",
          [](const std::string& preset, const py::dict& options) {
            const LoadOptions load = load_options_from(options);
            py::gil_scoped_release release;
            return std::shared_ptr<Backbone>(backbone_from_preset(preset, load));
          },
          py::arg("preset"), py::arg("options") = py::dict(),
          "KerasHub's Gemma4Backbone.from_preset (a built-in name needs nothing on disk with load_weights=False).")
      .def_static(
          "load",
          [](const std::string& model, const py::dict& options) {
            const LoadOptions load = load_options_from(options);
            py::gil_scoped_release release;
            return std::shared_ptr<Backbone>(Backbone::load(model, load));
          },
          py::arg("model"), py::arg("options") = py::dict(),
          "Any model Backbone::load accepts (folder, GGUF file, preset name, kaggle:// or hf:// handle).")
      .def("config_json", [](const Backbone& b) { return config_to_keras_json(b.config()); })
      .def("parameter_count", &Backbone::parameter_count)
      .def("parameter_count_with_encoders",
           [](const Backbone& b) {
             int64_t count = b.parameter_count();
             if (b.vision_config() != nullptr) count += count_vision_parameters(*b.vision_config());
             if (b.audio_config() != nullptr) count += count_audio_parameters(*b.audio_config());
             return count;
           })
      .def("has_vision", &Backbone::has_vision)
      .def("has_audio", &Backbone::has_audio)
      .def("forward", &forward, py::arg("inputs"), py::arg("compute_logits") = false,
           py::arg("keep_hidden_states") = false)
      .def("token_embedding_view", &token_embedding_view)
      .def(
          "enable_lora",
          [](Backbone& b, int64_t rank, const std::vector<std::string>& target_layer_names) {
            b.enable_lora(rank, target_layer_names);
          },
          py::arg("rank"), py::arg("target_layer_names") = std::vector<std::string>())
      .def("lora_enabled", [](const Backbone& b) { return b.lora_state() != nullptr; })
      .def("lora_rank", [](const Backbone& b) { return b.lora_state() ? b.lora_state()->rank() : int64_t{0}; })
      .def("lora_alpha", [](const Backbone& b) { return b.lora_state() ? b.lora_state()->alpha() : 0.0f; })
      .def("lora_parameter_count",
           [](const Backbone& b) { return b.lora_state() ? b.lora_state()->trainable_parameter_count() : int64_t{0}; })
      .def("lora_layers", &lora_layer_views)
      .def(
          "save_lora_weights",
          [](const Backbone& b, const std::string& path) {
            py::gil_scoped_release release;
            b.save_lora_weights(path);
          },
          py::arg("path"))
      .def(
          "load_lora_weights",
          [](Backbone& b, const std::string& path) {
            py::gil_scoped_release release;
            b.load_lora_weights(path);
          },
          py::arg("path"))
      .def("token_embedding_address",
           [](const Backbone& b) { return reinterpret_cast<uintptr_t>(b.token_embedding().data); },
           "The address of the stored embedding matrix (tests check the NumPy view points there).");
}

}  // namespace gemma4::python
