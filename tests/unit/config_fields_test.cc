// schema/config_fields.h: the one Gemma4Config field list. It names every Gemma4Backbone argument, and a config
// with every field set away from its default survives the KerasHub and Hugging Face config.json round trips
// and (for what GGUF can hold) a GGUF file round trip.
#include <gemma4/config.h>
#include <gemma4/error.h>
#include <gemma4/preset.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/gguf_model.h"
#include "formats/model_folder.h"
#include "loading/random_weights.h"
#include "schema/config_fields.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using config_fields::FieldSpec;

// Every field as (name, value as JSON text), in the visitor's order.
std::vector<std::pair<std::string, std::string>> field_values(const Gemma4Config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  config_fields::visit_fields(c, [&](const FieldSpec& spec, const auto& field) {
    using T = std::remove_cvref_t<decltype(field)>;
    json value;
    if constexpr (config_fields::kIsOptional<T>) {
      value = field ? json(*field) : json(nullptr);
    } else if constexpr (std::is_same_v<T, std::vector<LayerType>>) {
      for (LayerType type : field) value.push_back(layer_type_name(type));
    } else {
      value = field;
    }
    out.emplace_back(spec.keras ? spec.keras : spec.hf, value.dump());
  });
  return out;
}

void expect_same_fields(const Gemma4Config& actual, const Gemma4Config& expected, const std::string& what) {
  const auto a = field_values(actual), e = field_values(expected);
  ASSERT_EQ(a.size(), e.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].second, e[i].second) << what << ": field " << e[i].first;
}

// Every field away from its default, in a config validate() accepts (6 layers, MoE, K=V, KV sharing, PLE,
// an embedding head, bidirectional attention).
Gemma4Config every_field_set() {
  Gemma4Config c;
  c.vocabulary_size = 512;
  c.image_size = 224;
  c.num_layers = 6;
  c.num_query_heads = 4;
  c.num_key_value_heads = 2;
  c.hidden_dim = 16;
  c.intermediate_dim = 24;
  c.head_dim = 8;
  c.query_head_dim_normalize = false;
  c.attention_logit_soft_cap = 50.0;
  c.final_logit_soft_cap = 30.0;
  c.use_sliding_window_attention = false;
  c.sliding_window_size = 16;
  c.sliding_window_pattern = 3;
  c.global_head_dim = 16;
  c.local_rope_scaling_factor = 2.0;
  c.global_rope_scaling_factor = 0.5;
  c.num_audio_tokens_per_clip = 750;
  c.layer_norm_epsilon = 1e-5;  // GGUF stores f32 and reads back the shortest decimal: 1e-5 again
  c.use_bidirectional_attention = true;
  c.use_vision_bidirectional_attention = true;
  c.dropout = 0.125;
  c.is_embedding_model = true;
  c.pooling_intermediate_dim = 12;
  c.embedding_dim = 6;
  c.num_kv_shared_layers = 2;
  c.num_global_key_value_heads = 1;
  c.hidden_size_per_layer_input = 4;
  c.vocab_size_per_layer_input = 256;
  c.global_rope_wavelength = 500000.0;
  c.local_rope_wavelength = 20000.0;
  c.global_rope_partial_rotary_factor = 0.5;
  c.use_double_wide_mlp = true;
  c.enable_moe_block = true;
  c.num_experts = 4;
  c.expert_intermediate_dim = 8;
  c.num_experts_per_token = 2;
  c.dtype = "bfloat16";
  c.layer_types = {LayerType::kSliding, LayerType::kSliding, LayerType::kFull,
                   LayerType::kSliding, LayerType::kSliding, LayerType::kFull};
  c.pad_token_id = 7;
  c.bos_token_id = 3;
  c.eos_token_ids = {1, 106};
  c.max_position_embeddings = 4096;
  c.validate();
  return c;
}

// Gemma4Backbone.__init__'s arguments (keras-team/keras-hub keras_hub/src/models/gemma4/gemma4_backbone.py),
// without the vision_encoder / audio_encoder objects.
const std::set<std::string> kKerasArguments = {
    "vocabulary_size", "image_size", "num_layers", "num_query_heads", "num_key_value_heads", "hidden_dim",
    "intermediate_dim", "head_dim", "query_head_dim_normalize", "attention_logit_soft_cap", "final_logit_soft_cap",
    "use_sliding_window_attention", "sliding_window_size", "sliding_window_pattern", "layer_types", "global_head_dim",
    "local_rope_scaling_factor", "global_rope_scaling_factor", "local_rope_wavelength", "global_rope_wavelength",
    "global_rope_partial_rotary_factor", "num_audio_tokens_per_clip", "layer_norm_epsilon",
    "use_bidirectional_attention", "use_vision_bidirectional_attention", "dropout", "is_embedding_model",
    "pooling_intermediate_dim", "embedding_dim", "num_kv_shared_layers", "num_global_key_value_heads",
    "hidden_size_per_layer_input", "vocab_size_per_layer_input", "use_double_wide_mlp", "enable_moe_block",
    "num_experts", "expert_intermediate_dim", "num_experts_per_token", "dtype"};

TEST(ConfigFields, ListsEveryKerasHubArgumentOnce) {
  std::multiset<std::string> keras;
  std::multiset<std::string> others;
  const Gemma4Config config;
  config_fields::visit_fields(config, [&](const FieldSpec& spec, const auto&) {
    if (spec.keras) {
      keras.insert(spec.keras);
    } else {
      others.insert(spec.hf);
    }
  });
  EXPECT_EQ(std::set<std::string>(keras.begin(), keras.end()), kKerasArguments);
  EXPECT_EQ(keras.size(), kKerasArguments.size());  // none twice
  // The four Hugging Face values the backbone needs beyond its arguments.
  EXPECT_EQ(others, (std::multiset<std::string>{"pad_token_id", "bos_token_id", "eos_token_id", "max_position_embeddings"}));
  // The KerasHub writer and the from_preset override names come from the same list.
  const json written = json::parse(config_to_keras_json(Gemma4Config{}));
  EXPECT_EQ(written["class_name"], "Gemma4Backbone");
  std::set<std::string> keys;
  for (const auto& [key, value] : written["config"].items()) keys.insert(key);
  EXPECT_EQ(keys, kKerasArguments);
}

TEST(ConfigFields, TheTestConfigSetsEveryField) {
  const auto set = field_values(every_field_set()), defaults = field_values(Gemma4Config{});
  for (size_t i = 0; i < set.size(); ++i) EXPECT_NE(set[i].second, defaults[i].second) << set[i].first;
}

TEST(ConfigFields, KerasHubRoundTrip) {
  Gemma4Config expected = every_field_set();
  const std::string text = config_to_keras_json(expected);
  const Gemma4Config back = config_from_keras_json(text, "round trip");
  // Token ids and the context length are not Gemma4Backbone arguments: they keep their defaults.
  const Gemma4Config defaults;
  expected.pad_token_id = defaults.pad_token_id;
  expected.bos_token_id = defaults.bos_token_id;
  expected.eos_token_ids = defaults.eos_token_ids;
  expected.max_position_embeddings = defaults.max_position_embeddings;
  expect_same_fields(back, expected, "KerasHub JSON");
  EXPECT_EQ(config_to_keras_json(back), text);  // JSON -> config -> JSON is the same text
  // A hand-written KerasHub config (the serialized DTypePolicy object of a real save) reads the same way.
  json hand = json::parse(text);
  hand["config"]["dtype"] = {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "bfloat16"}}}};
  expect_same_fields(config_from_keras_json(hand.dump(), "hand"), expected, "DTypePolicy");
}

TEST(ConfigFields, OverridesTakeEveryArgumentName) {
  const Gemma4Config base = every_field_set();
  const Gemma4Config changed = apply_config_overrides(base, {{"dropout", "0.25"}, {"image_size", "null"},
                                                             {"num_audio_tokens_per_clip", "188"}});
  EXPECT_EQ(changed.dropout, 0.25);
  EXPECT_FALSE(changed.image_size.has_value());
  EXPECT_EQ(changed.num_audio_tokens_per_clip, 188);
  EXPECT_EQ(changed.eos_token_ids, base.eos_token_ids);  // not an argument: kept
  // Every argument is known: overriding each with its own value changes nothing.
  const json object = json::parse(config_to_keras_json(base))["config"];
  std::map<std::string, std::string> same;
  for (const auto& [key, value] : object.items()) same[key] = value.dump();
  expect_same_fields(apply_config_overrides(base, same), base, "identity overrides");
}

TEST(ConfigFields, HuggingFaceRoundTripKeepsEveryField) {
  Gemma4Config expected = every_field_set();
  const Gemma4Config back = config_from_hf_json(config_to_hf_json(expected), "round trip");
  // The compute dtype travels as torch_dtype (it decides how the normalisers are rounded, docs/numerics.md).
  expect_same_fields(back, expected, "Hugging Face JSON");
  // Gemma4TextConfig's own keys hold what they can (not only keras_hub_extensions).
  const json written = json::parse(config_to_hf_json(every_field_set()));
  EXPECT_EQ(written["vocab_size"], 512);
  EXPECT_EQ(written["top_k_experts"], 2);
  EXPECT_EQ(written["moe_intermediate_size"], 8);
  EXPECT_EQ(written["rope_parameters"]["full_attention"]["partial_rotary_factor"], 0.5);
  EXPECT_EQ(written["eos_token_id"], json::array({1, 106}));
  EXPECT_FALSE(written["keras_hub_extensions"].contains("vocab_size"));
}

TEST(ConfigFields, GgufRoundTripKeepsWhatGgufHolds) {
  // What write_gguf_model refuses (llama.cpp's gemma4 has no such setting) is left at its default.
  Gemma4Config input = every_field_set();
  const Gemma4Config defaults;
  input.attention_logit_soft_cap.reset();
  input.use_bidirectional_attention = false;
  input.local_rope_scaling_factor = input.global_rope_scaling_factor = 1.0;
  input.is_embedding_model = false;
  input.pooling_intermediate_dim.reset();
  input.embedding_dim.reset();
  Checkpoint model;
  model.config = input;
  model.weights = make_random_weights(input, 11, DType::F32);
  const fs::path path = fs::temp_directory_path() / ("gemma4_config_fields_" + std::to_string(::getpid()) + ".gguf");
  write_gguf_model(path.string(), model, DType::F32);
  const Checkpoint back = read_gguf_checkpoint(path.string());
  fs::remove(path);

  Gemma4Config expected = input;
  // Not in GGUF metadata: stored-only arguments, the window switch (layer types carry it). The compute dtype
  // travels in our own key gemma4cpp.compute_dtype.
  expected.image_size = defaults.image_size;
  expected.query_head_dim_normalize = defaults.query_head_dim_normalize;
  expected.use_sliding_window_attention = defaults.use_sliding_window_attention;
  expected.sliding_window_pattern = defaults.sliding_window_pattern;
  expected.num_audio_tokens_per_clip = defaults.num_audio_tokens_per_clip;
  expected.use_vision_bidirectional_attention = defaults.use_vision_bidirectional_attention;
  expected.dropout = defaults.dropout;
  // Token ids are the tokenizer's: without one the writer's vocabulary puts <bos> at 2; one eos id.
  expected.bos_token_id = 2;
  expected.eos_token_ids = {input.eos_token_ids[0]};
  expect_same_fields(back.config, expected, "GGUF");
}

}  // namespace
}  // namespace gemma4
