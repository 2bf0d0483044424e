// KerasHub's enable_lora on the Gemma 4 text decoder, saving and loading the adapters, and the mapping of
// the factors to the backward pass's parameters. Facts and sources: docs/lora.md.
#include "train/lora_state.h"

#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gemma4/lora.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "formats/json_file.h"
#include "formats/lora_writer.h"
#include "model/backbone_parts.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

int64_t product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

// The KerasHub layer names of a text decoder block, with the canonical tensor each adapts.
struct LayerKind {
  const char* keras;
  const char* hf;      // Hugging Face module name, accepted as an alias
  const char* tensor;  // canonical name after "layers.<l>."
};

// In KerasHub's Layer._flatten_layers order within a block (sub-layers last-created first).
const std::vector<LayerKind>& layer_kinds() {
  static const std::vector<LayerKind> kinds = {
      {"per_layer_up_proj", "per_layer_projection", "per_layer_projection.weight"},
      {"per_layer_input_gate", "per_layer_input_gate", "per_layer_input_gate.weight"},
      {"ffw_linear", "down_proj", "mlp.down_proj.weight"},
      {"ffw_gating_2", "up_proj", "mlp.up_proj.weight"},
      {"ffw_gating", "gate_proj", "mlp.gate_proj.weight"},
      {"attention_output", "o_proj", "self_attn.o_proj.weight"},
      {"value", "v_proj", "self_attn.v_proj.weight"},
      {"key", "k_proj", "self_attn.k_proj.weight"},
      {"query", "q_proj", "self_attn.q_proj.weight"},
  };
  return kinds;
}

// The layer `kind` of block `l`, or false when the block has no such layer (KV-shared blocks have no key or
// value, K=V blocks no value, models without per-layer inputs no PLE layers).
bool describe_layer(const Gemma4Config& c, int64_t l, const LayerKind& kind, LoraLayer& layer) {
  const std::string name = kind.keras;
  const int64_t hidden = c.hidden_dim, head_dim = c.layer_head_dim(l), ffn = c.ffn_width(l);
  const int64_t ple = c.hidden_size_per_layer_input;
  layer.layer_name = name;
  layer.block = l;
  layer.tensor = "layers." + std::to_string(l) + "." + kind.tensor;
  layer.heads_first = false;
  if (name == "query") {
    layer.kernel_shape = {c.num_query_heads, hidden, head_dim};
    layer.heads_first = true;
  } else if (name == "key" || name == "value") {
    if (c.is_kv_shared(l) || (name == "value" && c.uses_k_eq_v(l))) return false;
    layer.kernel_shape = {c.layer_kv_heads(l), hidden, head_dim};
    layer.heads_first = true;
  } else if (name == "attention_output") {
    layer.kernel_shape = {c.num_query_heads, head_dim, hidden};
  } else if (name == "ffw_gating" || name == "ffw_gating_2") {
    layer.kernel_shape = {hidden, ffn};
  } else if (name == "ffw_linear") {
    layer.kernel_shape = {ffn, hidden};
  } else if (name == "per_layer_input_gate") {
    if (ple <= 0) return false;
    layer.kernel_shape = {hidden, ple};
  } else if (name == "per_layer_up_proj") {
    if (ple <= 0) return false;
    layer.kernel_shape = {ple, hidden};
  } else {
    return false;
  }
  return true;
}

// Names in KerasHub's default list that name no Gemma 4 layer with enable_lora (matched against nothing).
bool is_inert_default(const std::string& name) {
  return name == "query_dense" || name == "value_dense" || name == "query_proj" || name == "value_proj";
}

std::string known_names() {
  std::string list;
  for (const LayerKind& k : layer_kinds()) list += (list.empty() ? "" : ", ") + std::string(k.keras) + "/" + k.hf;
  return list;
}

// Resolves aliases to KerasHub names; throws on names that name nothing.
std::set<std::string> resolve_targets(const std::vector<std::string>& names) {
  std::set<std::string> keras;
  for (const std::string& name : names) {
    if (is_inert_default(name)) continue;
    bool found = false;
    for (const LayerKind& k : layer_kinds()) {
      if (name == k.keras || name == k.hf) {
        keras.insert(k.keras);
        found = true;
      }
    }
    if (!found) {
      throw Error("enable_lora: target layer name '" + name + "' names no Gemma 4 text decoder layer (known: " +
                  known_names() + ")");
    }
  }
  return keras;
}

// KerasHub's save_lora_weights numbers each LoRA layer by its index among the backbone's layers that have
// weights (Backbone._flatten_layers(include_self=False)). This is our reading of that order for the text
// decoder: the token embedding, the per-layer-input embedding, projection and norm (models with PLE), then
// each block (itself, then its sub-layers last-created first, depth first), then the final norm. Our reader
// uses only the order of the entries; the absolute numbers are not verified against a running KerasHub.
std::map<std::string, int64_t> keras_layer_indices(const Gemma4Config& c) {
  std::map<std::string, int64_t> index;
  int64_t next = 1;  // 0: the token embedding
  if (c.has_ple()) next += 3;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const bool shared = c.is_kv_shared(l);
    const bool has_value = !shared && !c.uses_k_eq_v(l);
    ++next;  // the block
    if (c.has_ple()) {
      ++next;  // post_per_layer_input_norm
      index[p + "per_layer_projection.weight"] = next++;
      index[p + "per_layer_input_gate.weight"] = next++;
    }
    if (c.enable_moe_block) next += 6;  // expert bank, router, its projection, three norms
    index[p + "mlp.down_proj.weight"] = next++;
    index[p + "mlp.up_proj.weight"] = next++;
    index[p + "mlp.gate_proj.weight"] = next++;
    next += 2;  // post_ffw_norm, pre_ffw_norm
    ++next;     // attention
    index[p + "self_attn.o_proj.weight"] = next++;
    ++next;  // query_norm
    if (!shared) ++next;  // key_norm
    if (has_value) index[p + "self_attn.v_proj.weight"] = next++;
    if (!shared) index[p + "self_attn.k_proj.weight"] = next++;
    index[p + "self_attn.q_proj.weight"] = next++;
    next += 2;  // post_attention_norm, pre_attention_norm
  }
  return index;
}

std::string keras_name_of_tensor(const std::string& tensor) {
  for (const LayerKind& k : layer_kinds()) {
    const std::string suffix = std::string(".") + k.tensor;
    if (tensor.size() > suffix.size() && tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return k.keras;
    }
  }
  return "";
}

bool close_scale(float x, float y) { return std::abs(x - y) <= 1e-5f * std::max(1.0f, std::abs(y)); }

}  // namespace

std::vector<int64_t> LoraLayer::a_shape() const {
  std::vector<int64_t> shape(kernel_shape.begin(), kernel_shape.end() - 1);
  shape.push_back(rank());
  return shape;
}

std::vector<int64_t> LoraLayer::b_shape() const { return {rank(), kernel_shape.back()}; }

const std::vector<std::string>& LoraTrainingState::default_target_layer_names() {
  static const std::vector<std::string> names = {"query_dense", "value_dense", "query", "value"};
  return names;
}

LoraTrainingState::LoraTrainingState(const Gemma4Config& config, int64_t rank,
                                     const std::vector<std::string>& target_layer_names, float alpha, uint64_t seed)
    : config_(config), rank_(rank), alpha_(alpha > 0 ? alpha : static_cast<float>(rank)) {
  if (rank <= 0 || rank > 65536) throw Error("enable_lora: rank must be a positive integer, got " + std::to_string(rank));
  if (!(alpha >= 0) || !std::isfinite(alpha)) throw Error("enable_lora: lora_alpha must be a positive number");
  const std::set<std::string> targets =
      resolve_targets(target_layer_names.empty() ? default_target_layer_names() : target_layer_names);
  std::mt19937_64 rng(seed);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    for (const LayerKind& kind : layer_kinds()) {
      if (!targets.count(kind.keras)) continue;
      LoraLayer layer;
      if (!describe_layer(config, l, kind, layer)) continue;
      // he_uniform (keras/src/initializers/random_initializers.py): VarianceScaling(scale=2, mode="fan_in",
      // distribution="uniform"), limit sqrt(3 * 2 / fan_in); compute_fans of a [..., X, r] gives
      // fan_in = X * prod(leading axes) = prod(kernel_shape[:-1]).
      const int64_t fan_in = product(layer.kernel_shape, 0, layer.kernel_shape.size() - 1);
      const float bound = static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in)));
      std::uniform_real_distribution<float> uniform(-bound, bound);
      layer.a.resize(static_cast<size_t>(fan_in * rank));
      for (float& v : layer.a) v = uniform(rng);
      layer.b.assign(static_cast<size_t>(rank * layer.kernel_shape.back()), 0.0f);
      layers_.push_back(std::move(layer));
    }
  }
  if (layers_.empty()) {
    throw Error("enable_lora: no layer of this model matches the target layer names (KerasHub's save_lora_weights "
                "would find no lora-enabled layers)");
  }
}

int64_t LoraTrainingState::trainable_parameter_count() const {
  int64_t count = 0;
  for (const LoraLayer& layer : layers_) count += static_cast<int64_t>(layer.a.size() + layer.b.size());
  return count;
}

std::vector<float> LoraTrainingState::kernel_delta(size_t i) const {
  const LoraLayer& layer = layers_.at(i);
  const int64_t rows = product(layer.kernel_shape, 0, layer.kernel_shape.size() - 1);
  const int64_t cols = layer.kernel_shape.back(), r = rank_;
  std::vector<float> delta(static_cast<size_t>(rows * cols), 0.0f);
  const float s = scale();
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      float sum = 0;
      for (int64_t k = 0; k < r; ++k) sum += layer.a[row * r + k] * layer.b[k * cols + col];
      delta[row * cols + col] = s * sum;
    }
  }
  return delta;
}

void LoraTrainingState::save_lora_weights(const std::string& path) const {
  const bool keras = path.size() >= 8 && path.compare(path.size() - 8, 8, ".lora.h5") == 0;
  if (keras) {
    // Our .lora.h5 reader (and KerasHub's own load_lora_weights after its default enable_lora) expects the
    // default targets.
    for (const LoraLayer& layer : layers_) {
      if (layer.layer_name != "query" && layer.layer_name != "value") {
        throw Error(path + ": a KerasHub .lora.h5 file can hold only the default query/value targets here, but layer '" +
                    layer.layer_name + "' of block " + std::to_string(layer.block) + " is LoRA-enabled (save a PEFT folder)");
      }
    }
    const auto indices = keras_layer_indices(config_);
    std::vector<std::vector<int64_t>> a_shapes, b_shapes;
    a_shapes.reserve(layers_.size());
    b_shapes.reserve(layers_.size());
    std::vector<KerasLoraEntry> entries;
    for (const LoraLayer& layer : layers_) {
      a_shapes.push_back(layer.a_shape());
      b_shapes.push_back(layer.b_shape());
      entries.push_back({indices.at(layer.tensor), {a_shapes.back(), &layer.a}, {b_shapes.back(), &layer.b}});
    }
    write_keras_lora_file(path, rank_, entries);
    return;
  }
  if (fs::path(path).extension() == ".h5") {
    throw Error(path + ": KerasHub LoRA files must end in '.lora.h5' (Backbone.save_lora_weights requires it)");
  }
  PeftAdapterFile file;
  file.r = rank_;
  file.lora_alpha = alpha_;
  std::vector<train::LoraParameter> parameters = train::lora_parameters(*this);
  std::set<std::string> short_names;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const train::LoraParameter& p = parameters[i];
    const std::string module = train::peft_module_name(p.tensor);
    if (p.rank != rank_) {
      // heads_first layers carry rank heads * r with alpha scaled alike, so that alpha / r stays the scale.
      file.rank_pattern[module] = p.rank;
      file.alpha_pattern[module] = static_cast<double>(alpha_) * static_cast<double>(p.rank / rank_);
    }
    short_names.insert(module.substr(module.rfind('.') + 1));
  }
  file.target_modules.assign(short_names.begin(), short_names.end());
  std::vector<std::vector<int64_t>> shapes;
  shapes.reserve(2 * parameters.size());
  for (const train::LoraParameter& p : parameters) {
    shapes.push_back({p.rank, p.in});
    const std::vector<int64_t>* a_shape = &shapes.back();
    shapes.push_back({p.out, p.rank});
    file.modules.push_back({"base_model.model." + train::peft_module_name(p.tensor), {*a_shape, &p.a}, {shapes.back(), &p.b}});
  }
  write_peft_adapter(path, file);
}

void LoraTrainingState::load_lora_weights(const std::string& path) {
  LoraReadOptions options;
  options.keras_lora_alpha = alpha_;
  const LoraAdapter adapter = read_lora_adapter(path, config_, options);
  std::map<std::string, const LoraTarget*> by_tensor;
  for (const LoraTarget& t : adapter.targets) by_tensor[t.tensor] = &t;
  for (const LoraTarget& t : adapter.targets) {
    if (std::none_of(layers_.begin(), layers_.end(), [&](const LoraLayer& l) { return l.tensor == t.tensor; })) {
      throw Error(t.origin + ": adapts " + t.tensor + ", which is not LoRA-enabled here (enable_lora with its layer)");
    }
  }
  for (LoraLayer& layer : layers_) {
    auto found = by_tensor.find(layer.tensor);
    if (found == by_tensor.end()) {
      throw Error(path + ": holds no factors for " + layer.tensor + " (LoRA-enabled layer '" + layer.layer_name + "')");
    }
    const LoraTarget& t = *found->second;
    const int64_t r = rank_, Y = layer.kernel_shape.back();
    const int64_t G = layer.heads_first ? layer.kernel_shape[0] : 1;
    const int64_t X = layer.heads_first ? layer.kernel_shape[1] : product(layer.kernel_shape, 0, layer.kernel_shape.size() - 1);
    if (!close_scale(t.scale, scale())) {
      throw Error(t.origin + ": scale alpha/r is " + std::to_string(t.scale) + " but this LoRA state has " +
                  std::to_string(scale()) + " (alpha " + std::to_string(alpha_) + ", rank " + std::to_string(r) + ")");
    }
    std::vector<float> a(static_cast<size_t>(G * X * r)), b(static_cast<size_t>(r * Y));
    if (layer.heads_first && t.groups == G && t.rank == r) {
      // KerasHub form: down [G, r, X], up [G*Y, r] (every head's rows hold the same b).
      for (int64_t n = 0; n < G; ++n)
        for (int64_t x = 0; x < X; ++x)
          for (int64_t k = 0; k < r; ++k) a[(n * X + x) * r + k] = t.down[(n * r + k) * X + x];
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t k = 0; k < r; ++k) b[k * Y + y] = t.up[y * r + k];
    } else if (layer.heads_first && t.groups == 1 && t.rank == G * r) {
      // Our PEFT form: A' [G*r, X], block-diagonal B' [G*Y, G*r] with equal blocks.
      for (int64_t n = 0; n < G; ++n)
        for (int64_t x = 0; x < X; ++x)
          for (int64_t k = 0; k < r; ++k) a[(n * X + x) * r + k] = t.down[(n * r + k) * X + x];
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t k = 0; k < r; ++k) b[k * Y + y] = t.up[y * (G * r) + k];
      for (int64_t row = 0; row < G * Y; ++row) {
        for (int64_t col = 0; col < G * r; ++col) {
          const bool diagonal = row / Y == col / r;
          const float expected = diagonal ? b[(col % r) * Y + row % Y] : 0.0f;
          if (t.up[row * (G * r) + col] != expected) {
            throw Error(t.origin + ": lora_B is not KerasHub-shaped (a block-diagonal matrix of one [" + std::to_string(Y) +
                        ", " + std::to_string(r) + "] block per head), so it cannot be trained as KerasHub's LoRA");
          }
        }
      }
    } else if (!layer.heads_first && t.groups == 1 && t.rank == r) {
      for (int64_t gx = 0; gx < X; ++gx)
        for (int64_t k = 0; k < r; ++k) a[gx * r + k] = t.down[k * X + gx];
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t k = 0; k < r; ++k) b[k * Y + y] = t.up[y * r + k];
    } else {
      throw Error(t.origin + ": rank " + std::to_string(t.rank) + " (groups " + std::to_string(t.groups) +
                  ") does not fit LoRA rank " + std::to_string(r) + " on layer '" + layer.layer_name + "' (" +
                  std::to_string(G) + " heads): ranks must match");
    }
    // Into the existing buffers: views of them (the Python package's NumPy arrays) stay valid.
    std::copy(a.begin(), a.end(), layer.a.begin());
    std::copy(b.begin(), b.end(), layer.b.begin());
  }
}

LoraTrainingState LoraTrainingState::from_file(const std::string& path, const Gemma4Config& config) {
  const LoraAdapter adapter = read_lora_adapter(path, config);
  if (adapter.targets.empty()) throw Error(path + ": holds no LoRA factors");
  std::vector<std::string> names;
  for (const LoraTarget& t : adapter.targets) {
    const std::string name = keras_name_of_tensor(t.tensor);
    if (name.empty()) throw Error(t.origin + ": adapts " + t.tensor + ", which KerasHub's enable_lora cannot target");
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  int64_t rank = 0;
  float alpha = 0;
  if (fs::is_directory(path) || fs::path(path).extension() == ".safetensors") {
    const fs::path folder = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
    const nlohmann::json config_json = read_json_file((folder / "adapter_config.json").string());
    rank = config_json.value("r", int64_t{8});
    alpha = config_json.value("lora_alpha", static_cast<float>(rank));
  } else {
    rank = adapter.targets.front().rank;
  }
  LoraTrainingState state(config, rank, names, alpha);
  state.load_lora_weights(path);
  return state;
}

namespace train {

std::string peft_module_name(const std::string& tensor) {
  const std::string suffix = ".weight";
  std::string module = tensor;
  if (module.size() > suffix.size() && module.compare(module.size() - suffix.size(), suffix.size(), suffix) == 0) {
    module.resize(module.size() - suffix.size());
  }
  return "model.language_model." + module;
}

LoraParameter lora_parameter(const LoraLayer& layer, float scale) {
  LoraParameter p;
  p.tensor = layer.tensor;
  p.scale = scale;
  const int64_t r = layer.rank(), Y = layer.kernel_shape.back();
  if (layer.heads_first) {
    const int64_t G = layer.kernel_shape[0], X = layer.kernel_shape[1];
    p.rank = G * r;
    p.in = X;
    p.out = G * Y;
    p.a.resize(static_cast<size_t>(p.rank * X));
    for (int64_t n = 0; n < G; ++n)
      for (int64_t x = 0; x < X; ++x)
        for (int64_t k = 0; k < r; ++k) p.a[(n * r + k) * X + x] = layer.a[(n * X + x) * r + k];
    p.b.assign(static_cast<size_t>(p.out * p.rank), 0.0f);
    for (int64_t n = 0; n < G; ++n)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t k = 0; k < r; ++k) p.b[(n * Y + y) * p.rank + n * r + k] = layer.b[k * Y + y];
  } else {
    const int64_t X = product(layer.kernel_shape, 0, layer.kernel_shape.size() - 1);
    p.rank = r;
    p.in = X;
    p.out = Y;
    p.a.resize(static_cast<size_t>(r * X));
    for (int64_t x = 0; x < X; ++x)
      for (int64_t k = 0; k < r; ++k) p.a[k * X + x] = layer.a[x * r + k];
    p.b.resize(static_cast<size_t>(Y * r));
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t k = 0; k < r; ++k) p.b[y * r + k] = layer.b[k * Y + y];
  }
  return p;
}

std::vector<LoraParameter> lora_parameters(const LoraTrainingState& state) {
  std::vector<LoraParameter> parameters;
  parameters.reserve(state.layers().size());
  for (const LoraLayer& layer : state.layers()) parameters.push_back(lora_parameter(layer, state.scale()));
  return parameters;
}

void lora_layer_gradient(const LoraLayer& layer, const std::vector<float>& d_a_peft, const std::vector<float>& d_b_peft,
                         std::vector<float>& d_a, std::vector<float>& d_b) {
  const int64_t r = layer.rank(), Y = layer.kernel_shape.back();
  d_a.assign(layer.a.size(), 0.0f);
  d_b.assign(layer.b.size(), 0.0f);
  if (layer.heads_first) {
    const int64_t G = layer.kernel_shape[0], X = layer.kernel_shape[1], R = G * r;
    if (d_a_peft.size() != static_cast<size_t>(R * X) || d_b_peft.size() != static_cast<size_t>(G * Y * R)) {
      throw Error("LoRA gradient of " + layer.tensor + " has the wrong size");
    }
    for (int64_t n = 0; n < G; ++n)
      for (int64_t x = 0; x < X; ++x)
        for (int64_t k = 0; k < r; ++k) d_a[(n * X + x) * r + k] = d_a_peft[(n * r + k) * X + x];
    for (int64_t n = 0; n < G; ++n)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t k = 0; k < r; ++k) d_b[k * Y + y] += d_b_peft[(n * Y + y) * R + n * r + k];
  } else {
    const int64_t X = product(layer.kernel_shape, 0, layer.kernel_shape.size() - 1);
    if (d_a_peft.size() != static_cast<size_t>(r * X) || d_b_peft.size() != static_cast<size_t>(Y * r)) {
      throw Error("LoRA gradient of " + layer.tensor + " has the wrong size");
    }
    for (int64_t x = 0; x < X; ++x)
      for (int64_t k = 0; k < r; ++k) d_a[x * r + k] = d_a_peft[k * X + x];
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t k = 0; k < r; ++k) d_b[k * Y + y] = d_b_peft[y * r + k];
  }
}

}  // namespace train

// ---------------------------------------------------------------------------------------------------
// Backbone's KerasHub-named entry points.

LoraTrainingState& Backbone::enable_lora(int64_t rank, const std::vector<std::string>& target_layer_names) {
  auto state = std::make_shared<LoraTrainingState>(config(), rank, target_layer_names);
  parts_->text->bind_lora(state);  // forward() now adds the adapters (model/lora_runtime.h)
  lora_ = std::move(state);
  return *lora_;
}

void Backbone::save_lora_weights(const std::string& path) const {
  if (!lora_) throw Error("There are no lora-enabled layers in this model: call enable_lora(rank) first");
  lora_->save_lora_weights(path);
}

void Backbone::load_lora_weights(const std::string& path) {
  if (!lora_) {
    auto state = std::make_shared<LoraTrainingState>(LoraTrainingState::from_file(path, config()));
    parts_->text->bind_lora(state);
    lora_ = std::move(state);
    return;
  }
  lora_->load_lora_weights(path);
}

}  // namespace gemma4
