#include "loading/builtin_model.h"

#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/tokenizer_config.h"
#include "loading/embedded_files.h"
#include "loading/random_weights.h"
#include "loading/test_tokenizer.h"
#include "text/tokenizer_internal.h"

namespace gemma4 {
namespace {

std::string_view small_file(const std::string& name) {
  for (const EmbeddedFile& file : builtin_small_files()) {
    if (file.name == name) return file.bytes;
  }
  throw Error(std::string(kBuiltinSmallModel) + ": the library was built without its " + name);
}

// The same reading as formats/model_folder.cc's read_hf_folder, from the embedded copy of models/small/.
Checkpoint open_builtin_small() {
  const std::string where = std::string(kBuiltinSmallModel) + "/";
  Checkpoint checkpoint;
  checkpoint.path = kBuiltinSmallModel;
  checkpoint.format = "builtin";
  checkpoint.config = config_from_hf_json(std::string(small_file("config.json")), where + "config.json");
  const std::string_view weights = small_file("model.safetensors");
  auto source = std::make_shared<WeightSource>();
  source->description = where + "model.safetensors (embedded)";
  read_safetensors_bytes(reinterpret_cast<const uint8_t*>(weights.data()), weights.size(), where + "model.safetensors",
                         *source);
  checkpoint.weights = std::move(source);
  checkpoint.tokenizer.bpe = std::make_shared<const text::BpeSpec>(
      text::parse_hf_tokenizer_json_spec(small_file("tokenizer.json"), where + "tokenizer.json"));
  const std::string config_name = where + "tokenizer_config.json";
  const std::string_view tokenizer_config = small_file("tokenizer_config.json");
  checkpoint.tokenizer.chat_template = chat_template_from_tokenizer_config(tokenizer_config, config_name);
  checkpoint.tokenizer.chat_template_origin = config_name;
  const nlohmann::json parsed = parse_json(tokenizer_config, config_name);
  if (parsed.is_object() && parsed.contains("add_bos_token") && parsed["add_bos_token"].is_boolean()) {
    checkpoint.tokenizer.add_bos = parsed["add_bos_token"].get<bool>();
  }
  return checkpoint;
}

}  // namespace

bool is_builtin_model(const std::string& name) { return name == kBuiltinTinyModel || name == kBuiltinSmallModel; }

Checkpoint open_builtin_model(const std::string& name) {
  if (name == kBuiltinSmallModel) return open_builtin_small();
  if (name != kBuiltinTinyModel) throw Error("'" + name + "' is not a built-in model (builtin:tiny, builtin:small)");
  Checkpoint builtin;
  builtin.path = name;
  builtin.format = "builtin";
  builtin.config = builtin_tiny_config();
  builtin.weights = make_random_weights(builtin.config, /*seed=*/1234, DType::F32, kDemoEmbeddingStd);
  builtin.tokenizer.bpe = std::make_shared<const text::BpeSpec>(make_test_bpe_spec(builtin.config.vocabulary_size));
  return builtin;
}

Gemma4Config builtin_tiny_config() {
  Gemma4Config c;
  c.vocabulary_size = 512;
  c.num_layers = 6;
  c.num_query_heads = 4;
  c.num_key_value_heads = 2;
  c.hidden_dim = 64;
  c.intermediate_dim = 128;
  c.head_dim = 16;
  c.global_head_dim = 32;
  c.layer_types = {LayerType::kSliding, LayerType::kSliding, LayerType::kFull,
                   LayerType::kSliding, LayerType::kSliding, LayerType::kFull};
  c.sliding_window_size = 16;
  c.global_rope_partial_rotary_factor = 0.25;
  c.final_logit_soft_cap = 30.0;
  c.hidden_size_per_layer_input = 8;
  c.num_kv_shared_layers = 2;
  c.use_double_wide_mlp = true;
  c.max_position_embeddings = 2048;
  c.validate();
  return c;
}

}  // namespace gemma4
