// Readers for the two LoRA adapter formats: Hugging Face PEFT folders and KerasHub `.lora.h5` files.
#include <gemma4/error.h>
#include <gemma4/lora.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "core/dtype.h"
#include "formats/hdf5_handle.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "kernels/matmul.h"
#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The most values one LoRA factor (A or B) may hold: 2^28 floats (1 GiB), past every real adapter
// (a rank-64 factor of a 262144-wide embedding has 2^24).
constexpr int64_t kMaxLoraFactorValues = int64_t{1} << 28;
// PEFT rank_pattern / alpha_pattern keys are module names or short regular expressions; std::regex is
// recursive and backtracking, so keys are bounded to keep its time and stack small.
constexpr size_t kMaxPatternKeyBytes = 256;
constexpr int64_t kMaxLoraRank = 65536;

// The shape of text matrix `name` under `config`, or nothing when the model has no such 2-D matrix.
std::optional<Shape> text_matrix_shape(const Gemma4Config& config, const std::string& name) {
  for (const TensorSpec& spec : text_tensor_specs()) {
    if (spec.role != TensorRole::kMatrix) continue;
    for (int64_t layer = 0; layer < (spec.per_layer ? config.num_layers : 1); ++layer) {
      if (expand_tensor_name(spec.name, layer) != name) continue;
      if (!spec.present(config, layer)) return std::nullopt;
      Shape shape = spec.shape(config, layer);
      if (shape.size() != 2) return std::nullopt;  // expert banks are 3-D: not LoRA targets here
      return shape;
    }
  }
  return std::nullopt;
}

bool is_encoder_tensor(const std::string& canonical) {
  for (const char* prefix : {"vision_tower.", "embed_vision.", "audio_tower.", "embed_audio."}) {
    if (canonical.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::vector<float> to_floats(const TensorView& view) {
  std::vector<float> values(static_cast<size_t>(view.numel()));
  const int64_t cols = view.cols();
  for (int64_t r = 0; r < view.rows(); ++r) kernels::dequantize_row(view, r, values.data() + r * cols);
  return values;
}

// PEFT's rank_pattern / alpha_pattern: a key matches a module whose name is the key or ends in ".key"
// (PEFT matches re.match(rf"(.*\.)?{key}$", name)).
std::optional<double> pattern_value(const json& patterns, const std::string& module, const std::string& file) {
  if (!patterns.is_object()) return std::nullopt;
  for (const auto& [key, value] : patterns.items()) {
    if (key.size() > kMaxPatternKeyBytes) {
      throw Error(file + ": pattern '" + key.substr(0, 40) + "...' is longer than " + std::to_string(kMaxPatternKeyBytes) +
                  " bytes");
    }
    if (!value.is_number()) throw Error(file + ": pattern '" + key + "' has a value that is not a number");
    try {
      if (std::regex_match(module, std::regex("(.*\\.)?(" + key + ")"))) return value.get<double>();
    } catch (const std::exception& e) {
      throw Error(file + ": pattern '" + key + "' is not usable: " + e.what());
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// HDF5 helpers for the KerasHub file (KerasH5Store is float-only; the rank here is an integer).

herr_t collect_group_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

bool link_exists(hid_t file, const std::string& path) {
  // H5Lexists needs every intermediate link to exist, so check level by level.
  std::string partial;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    partial += (partial.empty() ? "" : "/") + part;
    if (H5Lexists(file, partial.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

struct H5Array {
  Shape shape;
  std::vector<float> values;
};

H5Array read_h5_floats(hid_t file, const std::string& path, const std::string& filename) {
  if (!link_exists(file, path)) throw Error(filename + ": no dataset '" + path + "'");
  H5Handle dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) throw Error(filename + ": cannot open dataset '" + path + "': " + hdf5_reason());
  H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
  H5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  H5Array array;
  int64_t count = 1;
  for (hsize_t d : dims) {
    // A LoRA factor is small (heads x width x rank): a shape beyond the limit is a damaged or hostile file.
    if (d > static_cast<hsize_t>(kMaxLoraFactorValues) || count * static_cast<int64_t>(d) > kMaxLoraFactorValues) {
      throw Error(filename + ": dataset '" + path + "' claims more than " + std::to_string(kMaxLoraFactorValues) +
                  " values, the limit for one LoRA factor");
    }
    array.shape.push_back(static_cast<int64_t>(d));
    count *= static_cast<int64_t>(d);
  }
  array.values.resize(static_cast<size_t>(count));
  // Keras stores bfloat16 as 2-byte values marked dtype="bfloat16"; everything else HDF5 converts.
  const bool bf16 = h5_string_attribute(dataset.get(), "dtype") == "bfloat16";
  if (bf16 && H5Tget_size(type.get()) != 2) {
    throw Error(filename + ": dataset '" + path + "' is marked dtype='bfloat16' but holds " +
                std::to_string(H5Tget_size(type.get())) + "-byte values");
  }
  if (bf16) {
    std::vector<uint16_t> raw(array.values.size());
    if (H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
      throw Error(filename + ": cannot read dataset '" + path + "'");
    }
    for (size_t i = 0; i < raw.size(); ++i) array.values[i] = bf16_to_f32(raw[i]);
  } else {
    if (H5Tget_class(type.get()) != H5T_FLOAT) throw Error(filename + ": dataset '" + path + "' is not floating point");
    if (H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.values.data()) < 0) {
      throw Error(filename + ": cannot read dataset '" + path + "'");
    }
  }
  return array;
}

int64_t read_h5_integer(hid_t file, const std::string& path, const std::string& filename) {
  if (!link_exists(file, path)) throw Error(filename + ": no dataset '" + path + "' (not a KerasHub .lora.h5 file?)");
  H5Handle dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) throw Error(filename + ": dataset '" + path + "' is not a scalar");
  long long value = 0;
  if (H5Dread(dataset.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
    throw Error(filename + ": cannot read dataset '" + path + "' as an integer");
  }
  return value;
}

// One KerasHub LoRA target the model has: which tensor, its heads and head width.
struct KerasSlot {
  std::string tensor;
  int64_t heads, head_dim, in;
};

bool keras_shapes_fit(const KerasSlot& slot, const H5Array& a, const H5Array& b, int64_t rank) {
  return a.shape == Shape{slot.heads, slot.in, rank} && b.shape == Shape{rank, slot.head_dim};
}

}  // namespace

LoraAdapter read_peft_adapter(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options) {
  const fs::path folder = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  const std::string config_path = (folder / "adapter_config.json").string();
  const std::string weights_path =
      fs::is_directory(path) ? (folder / "adapter_model.safetensors").string() : path;
  if (!fs::exists(config_path)) {
    throw Error(folder.string() + ": no adapter_config.json (a PEFT LoRA adapter folder needs adapter_config.json and "
                "adapter_model.safetensors)");
  }
  if (!fs::exists(weights_path)) {
    throw Error(folder.string() + ": no adapter_model.safetensors" +
                (fs::exists(folder / "adapter_model.bin") ? std::string(" (adapter_model.bin, PyTorch pickle, is not read: "
                                                                        "convert it to safetensors)")
                                                          : std::string()));
  }
  const json adapter_config = read_json_file(config_path);
  if (!adapter_config.is_object()) throw Error(config_path + ": adapter_config.json must hold a JSON object");
  // A key of the wrong JSON type is an error naming it (nlohmann's value() would throw its own type_error).
  auto setting = [&](const char* key, const auto& fallback, bool (json::*is_type)() const noexcept, const char* type) {
    using T = std::decay_t<decltype(fallback)>;
    if (!adapter_config.contains(key) || adapter_config[key].is_null()) return T(fallback);
    if (!(adapter_config[key].*is_type)()) throw Error(config_path + ": \"" + key + "\" is not " + type);
    return adapter_config[key].get<T>();
  };
  const std::string peft_type = setting("peft_type", std::string("LORA"), &json::is_string, "a string");
  if (peft_type != "LORA") throw Error(config_path + ": peft_type is '" + peft_type + "'; only LORA adapters are supported");
  if (setting("use_dora", false, &json::is_boolean, "true or false")) {
    throw Error(config_path + ": use_dora is true; DoRA adapters are not supported");
  }
  if (setting("fan_in_fan_out", false, &json::is_boolean, "true or false")) {
    throw Error(config_path + ": fan_in_fan_out is true (Conv1D-style transposed weights), but Gemma 4 uses Linear layers");
  }
  // Absent values take PEFT's LoraConfig defaults (peft/tuners/lora/config.py: r = 8, lora_alpha = 8).
  const double default_rank = setting("r", 8.0, &json::is_number, "a number");
  const double default_alpha = setting("lora_alpha", 8.0, &json::is_number, "a number");
  const bool rslora = setting("use_rslora", false, &json::is_boolean, "true or false");
  const json rank_pattern = setting("rank_pattern", json::object(), &json::is_object, "an object");
  const json alpha_pattern = setting("alpha_pattern", json::object(), &json::is_object, "an object");

  WeightSource file;
  read_safetensors_file(weights_path, file, "", /*canonicalize=*/false);

  // module name -> its A and B.
  struct Pair {
    const SourceTensor* a = nullptr;
    const SourceTensor* b = nullptr;
    std::string a_name, b_name;
  };
  std::map<std::string, Pair> modules;
  static const std::regex lora_name(R"((.*)\.lora_([AB])(\.[A-Za-z0-9_\-]+)?\.weight)");
  for (const std::string& name : file.names()) {
    std::smatch match;
    if (!std::regex_match(name, match, lora_name)) {
      throw Error(weights_path + ": tensor '" + name + "' is not a lora_A/lora_B weight (embedding LoRA, biases and "
                  "modules_to_save are not supported)");
    }
    Pair& pair = modules[match[1].str()];
    (match[2] == "A" ? pair.a : pair.b) = file.find(name);
    (match[2] == "A" ? pair.a_name : pair.b_name) = name;
  }
  if (modules.empty()) throw Error(weights_path + ": holds no LoRA tensors");

  LoraAdapter adapter;
  adapter.description = folder.string();
  for (const auto& [module, pair] : modules) {
    if (pair.a == nullptr || pair.b == nullptr) {
      throw Error(weights_path + ": module '" + module + "' has lora_" + (pair.a ? "A" : "B") + " but no lora_" +
                  (pair.a ? "B" : "A"));
    }
    std::string hf = module;
    if (hf.rfind("base_model.model.", 0) == 0) hf = hf.substr(17);
    const std::string canonical = canonical_hf_name(hf + ".weight");
    if (is_encoder_tensor(canonical)) {
      if (options.skip_encoder_targets) continue;
      throw Error(weights_path + ": module '" + module + "' adapts the vision/audio encoder, which LoRA merging does not "
                  "support (LoraReadOptions::skip_encoder_targets leaves such modules out)");
    }
    const auto shape = text_matrix_shape(config, canonical);
    if (!shape) {
      throw Error(weights_path + ": unknown target module '" + module + "' (canonical tensor '" + canonical +
                  "' is not a 2-D matrix of this model)");
    }
    const TensorView& a = pair.a->view;
    const TensorView& b = pair.b->view;
    const int64_t out = (*shape)[0], in = (*shape)[1];
    const double module_rank = pattern_value(rank_pattern, hf, config_path).value_or(default_rank);
    // Checked before the conversion: a NaN or 1e300 rank would make static_cast<int64_t> undefined.
    if (!(module_rank >= 1 && module_rank <= kMaxLoraRank) || module_rank != std::floor(module_rank)) {
      std::ostringstream shown;
      shown << module_rank;
      throw Error(config_path + ": the rank r of module '" + module + "' is " + shown.str() +
                  ", expected an integer from 1 to " + std::to_string(kMaxLoraRank));
    }
    const int64_t rank = static_cast<int64_t>(module_rank);
    if (a.shape.size() != 2 || a.shape[0] != rank || a.shape[1] != in) {
      throw Error(weights_path + ": " + pair.a_name + " has shape " + shape_to_string(a.shape) + ", expected [" +
                  std::to_string(rank) + ", " + std::to_string(in) + "] (rank r=" + std::to_string(rank) +
                  " from adapter_config.json, in_features of " + canonical + ")");
    }
    if (b.shape.size() != 2 || b.shape[0] != out || b.shape[1] != rank) {
      throw Error(weights_path + ": " + pair.b_name + " has shape " + shape_to_string(b.shape) + ", expected [" +
                  std::to_string(out) + ", " + std::to_string(rank) + "] (out_features of " + canonical + ", rank r=" +
                  std::to_string(rank) + ")");
    }
    const double alpha = pattern_value(alpha_pattern, hf, config_path).value_or(default_alpha);
    LoraTarget target;
    target.tensor = canonical;
    target.origin = weights_path + ": " + module;
    target.rank = rank;
    target.out = out;
    target.in = in;
    target.scale = static_cast<float>(alpha / (rslora ? std::sqrt(module_rank) : module_rank));
    target.up = to_floats(b);
    target.down = to_floats(a);
    adapter.targets.push_back(std::move(target));
  }
  return adapter;
}

LoraAdapter read_keras_lora_unprobed(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options);

LoraAdapter read_keras_lora(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options) {
  if (!fs::exists(path)) throw Error("KerasHub LoRA file '" + path + "' does not exist");
  survive_hdf5(path, [&] { read_keras_lora_unprobed(path, config, options); });
  return read_keras_lora_unprobed(path, config, options);
}

LoraAdapter read_keras_lora_unprobed(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options) {
  quiet_hdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (a KerasHub .lora.h5 file was expected)");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw Error(path + ": cannot open the HDF5 file: " + hdf5_reason());

  // Backbone.save_lora_weights (keras_hub/src/models/backbone.py) writes "lora/vars/rank" and, for each
  // LoRA-enabled layer, "lora/<index>/vars/lora_kernel_a" and ".../lora_kernel_b", where <index> is the
  // layer's position among the backbone's layers that have weights (Layer._flatten_layers order).
  const int64_t rank = read_h5_integer(file.get(), "lora/vars/rank", path);
  if (rank <= 0) throw Error(path + ": lora/vars/rank is " + std::to_string(rank) + ", expected a positive rank");
  H5Handle group(H5Gopen2(file.get(), "lora", H5P_DEFAULT), H5Gclose);
  std::vector<std::string> children;
  H5Literate(group.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_group_name, &children);
  std::vector<int64_t> indices;
  for (const std::string& child : children) {
    if (child == "vars") continue;
    if (child.empty() || child.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(path + ": unexpected entry 'lora/" + child + "' (expected numbered layer groups)");
    }
    if (child.size() > 9) throw Error(path + ": layer group 'lora/" + child + "' has an index above 999999999");
    indices.push_back(std::stoll(child));
  }
  std::sort(indices.begin(), indices.end());
  if (indices.empty()) throw Error(path + ": no LoRA layers under 'lora/'");

  std::vector<H5Array> a_arrays, b_arrays;
  for (int64_t index : indices) {
    const std::string base = "lora/" + std::to_string(index) + "/vars/";
    a_arrays.push_back(read_h5_floats(file.get(), base + "lora_kernel_a", path));
    b_arrays.push_back(read_h5_floats(file.get(), base + "lora_kernel_b", path));
    const H5Array& a = a_arrays.back();
    const H5Array& b = b_arrays.back();
    if (a.shape.empty() || a.shape.back() != rank || b.shape.size() != 2 || b.shape[0] != rank) {
      throw Error(path + ": layer " + std::to_string(index) + " has lora_kernel_a " + shape_to_string(a.shape) +
                  " and lora_kernel_b " + shape_to_string(b.shape) + ", but the file's rank is " + std::to_string(rank) +
                  " (expected [..., " + std::to_string(rank) + "] and [" + std::to_string(rank) + ", ...]): ranks must match");
    }
  }

  // KerasHub's default targets are the layers named "query" and "value" (Backbone.default_lora_layer_names);
  // Gemma4TextAttention.build creates query, key, value in that order, and _flatten_layers visits a
  // layer's sub-layers last-created first (deque.extendleft), so each decoder block lists value before
  // query. KV-shared layers and K=V layers have no value projection.
  auto text_slots = [&](bool value_first) {
    std::vector<KerasSlot> slots;
    for (int64_t l = 0; l < config.num_layers; ++l) {
      const std::string prefix = "layers." + std::to_string(l) + ".self_attn.";
      const int64_t head_dim = config.layer_head_dim(l);
      KerasSlot query{prefix + "q_proj.weight", config.num_query_heads, head_dim, config.hidden_dim};
      const bool has_value = !config.is_kv_shared(l) && !config.uses_k_eq_v(l);
      KerasSlot value{prefix + "v_proj.weight", config.layer_kv_heads(l), head_dim, config.hidden_dim};
      if (has_value && value_first) slots.push_back(value);
      slots.push_back(query);
      if (has_value && !value_first) slots.push_back(value);
    }
    return slots;
  };
  // The text layers' entries form one run in the file; the rest (if any) belong to the vision/audio encoders.
  const size_t count = indices.size();
  std::vector<KerasSlot> slots;
  size_t offset = 0;
  bool found = false;
  for (bool value_first : {true, false}) {
    slots = text_slots(value_first);
    for (offset = 0; !found && offset + slots.size() <= count; ++offset) {
      bool fits = true;
      for (size_t s = 0; s < slots.size() && fits; ++s) fits = keras_shapes_fit(slots[s], a_arrays[offset + s], b_arrays[offset + s], rank);
      if (fits) found = true;
    }
    if (found) {
      --offset;
      break;
    }
  }
  if (!found) {
    const std::vector<KerasSlot> expected = text_slots(true);
    std::string detail;
    for (size_t s = 0; s < std::min(expected.size(), count); ++s) {
      if (!keras_shapes_fit(expected[s], a_arrays[s], b_arrays[s], rank)) {
        detail = "; e.g. entry lora/" + std::to_string(indices[s]) + " has lora_kernel_a " + shape_to_string(a_arrays[s].shape) +
                 " and lora_kernel_b " + shape_to_string(b_arrays[s].shape) + " where " + expected[s].tensor + " needs [" +
                 std::to_string(expected[s].heads) + ", " + std::to_string(expected[s].in) + ", " + std::to_string(rank) +
                 "] and [" + std::to_string(rank) + ", " + std::to_string(expected[s].head_dim) + "]";
        break;
      }
    }
    throw Error(path + ": its " + std::to_string(count) + " LoRA layers do not match this model's " +
                std::to_string(expected.size()) + " query/value projections (a KerasHub adapter for another model, or "
                "non-default target layers?)" + detail);
  }
  if (slots.size() != count && !options.skip_encoder_targets) {
    throw Error(path + ": " + std::to_string(count - slots.size()) + " of its " + std::to_string(count) +
                " LoRA layers are not text decoder query/value projections (vision/audio encoder layers?), which LoRA "
                "merging does not support (LoraReadOptions::skip_encoder_targets leaves them out)");
  }

  const float alpha = options.keras_lora_alpha > 0 ? options.keras_lora_alpha : static_cast<float>(rank);
  LoraAdapter adapter;
  adapter.description = path;
  for (size_t s = 0; s < slots.size(); ++s) {
    const KerasSlot& slot = slots[s];
    const H5Array& a = a_arrays[offset + s];  // [heads, in, rank]
    const H5Array& b = b_arrays[offset + s];  // [rank, head_dim]
    LoraTarget target;
    target.tensor = slot.tensor;
    target.origin = path + ": lora/" + std::to_string(indices[offset + s]);
    target.rank = rank;
    target.out = slot.heads * slot.head_dim;
    target.in = slot.in;
    target.groups = slot.heads;
    target.scale = alpha / static_cast<float>(rank);
    target.up.resize(static_cast<size_t>(target.out * rank));
    for (int64_t n = 0; n < slot.heads; ++n) {
      for (int64_t h = 0; h < slot.head_dim; ++h) {
        for (int64_t r = 0; r < rank; ++r) target.up[(n * slot.head_dim + h) * rank + r] = b.values[r * slot.head_dim + h];
      }
    }
    target.down.resize(static_cast<size_t>(slot.heads * rank * slot.in));
    for (int64_t n = 0; n < slot.heads; ++n) {
      for (int64_t i = 0; i < slot.in; ++i) {
        for (int64_t r = 0; r < rank; ++r) {
          target.down[(n * rank + r) * slot.in + i] = a.values[(n * slot.in + i) * rank + r];
        }
      }
    }
    adapter.targets.push_back(std::move(target));
  }
  return adapter;
}

LoraAdapter read_lora_adapter(const std::string& path, const Gemma4Config& config, const LoraReadOptions& options) {
  if (fs::is_directory(path) || fs::path(path).extension() == ".safetensors") {
    return read_peft_adapter(path, config, options);
  }
  if (fs::exists(path) && H5Fis_hdf5(path.c_str()) > 0) return read_keras_lora(path, config, options);
  if (!fs::exists(path)) throw Error("LoRA adapter '" + path + "' does not exist");
  throw Error(path + ": not a LoRA adapter (expected a PEFT folder, adapter_model.safetensors, or a KerasHub .lora.h5 file)");
}

}  // namespace gemma4
