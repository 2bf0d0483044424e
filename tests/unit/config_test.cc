// Gemma4Config: defaults, per-layer rules, validation errors, and both config.json flavours.
#include <gemma4/config.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

// KerasHub's gemma4_backbone_test.py tiny config.
Gemma4Config keras_tiny() {
  Gemma4Config c;
  c.vocabulary_size = 256;
  c.num_layers = 6;
  c.num_query_heads = 2;
  c.num_key_value_heads = 1;
  c.hidden_dim = 8;
  c.intermediate_dim = 16;
  c.head_dim = 4;
  c.sliding_window_size = 16;
  return c;
}

void expect_error_containing(const Gemma4Config& config, const std::string& fragment) {
  try {
    config.validate();
    FAIL() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Config, KerasDefaultsMatchTheSeed) {
  Gemma4Config c;
  EXPECT_TRUE(c.query_head_dim_normalize);
  EXPECT_FALSE(c.attention_logit_soft_cap.has_value());
  EXPECT_FALSE(c.final_logit_soft_cap.has_value());
  EXPECT_TRUE(c.use_sliding_window_attention);
  EXPECT_EQ(c.sliding_window_size, 512);
  EXPECT_EQ(c.sliding_window_pattern, 6);
  EXPECT_FALSE(c.global_head_dim.has_value());
  EXPECT_EQ(c.local_rope_scaling_factor, 1.0);
  EXPECT_EQ(c.global_rope_scaling_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.layer_norm_epsilon, 1e-6);
  EXPECT_FALSE(c.use_bidirectional_attention);
  EXPECT_FALSE(c.use_vision_bidirectional_attention);
  EXPECT_EQ(c.dropout, 0.0);
  EXPECT_FALSE(c.is_embedding_model);
  EXPECT_EQ(c.num_kv_shared_layers, 0);
  EXPECT_EQ(c.hidden_size_per_layer_input, 0);
  EXPECT_EQ(c.global_rope_partial_rotary_factor, 1.0);
  EXPECT_FALSE(c.use_double_wide_mlp);
  EXPECT_FALSE(c.enable_moe_block);
  EXPECT_EQ(c.num_experts_per_token, 8);
}

TEST(Config, PatternRuleMakesEverySixthLayerGlobal) {
  Gemma4Config c = keras_tiny();
  c.num_layers = 12;
  for (int l = 0; l < 12; ++l) EXPECT_EQ(c.is_global(l), l == 5 || l == 11) << l;
}

TEST(Config, KerasTinyParameterCountIs5758) {
  // gemma4_backbone_test.py asserts 5758 parameters for this text-only config.
  EXPECT_EQ(count_text_parameters(keras_tiny()), 5758);
}

TEST(Config, KvDonorIsLastNonSharedLayerOfSameType) {
  // E2B: 35 layers, period-5 pattern, 20 shared -> sliding layers read 13, full layers read 14.
  Gemma4Config c = keras_tiny();
  c.num_layers = 35;
  c.layer_types.clear();
  for (int l = 0; l < 35; ++l) c.layer_types.push_back(l % 5 == 4 ? LayerType::kFull : LayerType::kSliding);
  c.num_kv_shared_layers = 20;
  c.use_double_wide_mlp = true;
  c.validate();
  EXPECT_EQ(c.kv_donor(15), 13);
  EXPECT_EQ(c.kv_donor(19), 14);
  EXPECT_EQ(c.kv_donor(34), 14);
  EXPECT_EQ(c.kv_donor(14), 14);
  EXPECT_EQ(c.ffn_width(14), 16);
  EXPECT_EQ(c.ffn_width(15), 32);
}

TEST(Config, GlobalLayersUseGlobalHeadDimAndKEqV) {
  Gemma4Config c = keras_tiny();
  c.global_head_dim = 8;
  c.num_global_key_value_heads = 2;
  EXPECT_EQ(c.layer_head_dim(0), 4);
  EXPECT_EQ(c.layer_head_dim(5), 8);
  EXPECT_FALSE(c.uses_k_eq_v(0));
  EXPECT_TRUE(c.uses_k_eq_v(5));
  EXPECT_EQ(c.layer_kv_heads(0), 1);
  EXPECT_EQ(c.layer_kv_heads(5), 2);
}

TEST(Config, PartialRotaryPairs) {
  Gemma4Config c = keras_tiny();
  c.global_head_dim = 512;
  c.global_rope_partial_rotary_factor = 0.25;
  EXPECT_EQ(c.rope_pairs(5), 64);  // dims [0,64) and [256,320)
  EXPECT_EQ(c.rope_pairs(0), 2);   // local layers rotate the whole head
}

TEST(Config, BidirectionalTurnsOffTheWindow) {
  Gemma4Config c = keras_tiny();
  EXPECT_TRUE(c.is_windowed(0));
  c.use_bidirectional_attention = true;
  EXPECT_FALSE(c.is_windowed(0));
}

TEST(Config, ValidationNamesTheArgument) {
  Gemma4Config c = keras_tiny();
  c.enable_moe_block = true;
  expect_error_containing(c, "requires num_experts");
  c.num_experts = 4;
  expect_error_containing(c, "requires expert_intermediate_dim");
  c.expert_intermediate_dim = 8;
  c.num_experts_per_token = 8;
  expect_error_containing(c, "num_experts_per_token");

  c = keras_tiny();
  c.num_query_heads = 3;
  c.num_key_value_heads = 2;
  expect_error_containing(c, "multiple of num_key_value_heads");

  c = keras_tiny();
  c.num_kv_shared_layers = 6;
  expect_error_containing(c, "num_kv_shared_layers");

  c = keras_tiny();
  c.is_embedding_model = true;
  expect_error_containing(c, "pooling_intermediate_dim");
  c.pooling_intermediate_dim = 32;
  expect_error_containing(c, "embedding_dim");

  c = keras_tiny();
  c.layer_types = {LayerType::kFull};
  expect_error_containing(c, "layer_types has 1 entries");

  c = keras_tiny();
  c.num_kv_shared_layers = 5;  // only layer 0 is left, a sliding layer; layer 5 is full and has no donor
  expect_error_containing(c, "no earlier non-shared layer");

  c = keras_tiny();
  c.vocabulary_size = 0;
  expect_error_containing(c, "vocabulary_size");
}

TEST(Config, ReadsPerLayerConfigOfNewerTransformers) {
  // transformers >= 5.15 re-saves the global layers' head dim and KV heads per layer instead of as
  // global_head_dim / num_global_key_value_heads; the first full-attention layer's entry holds them.
  const std::string text = R"({
    "model_type": "gemma4_text", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "attention_k_eq_v": true, "sliding_window": 8, "hidden_size_per_layer_input": 0, "torch_dtype": "bfloat16",
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    "per_layer_config": {"0": {"head_dim": 16, "num_key_value_heads": 2},
                         "1": {"head_dim": 48, "num_key_value_heads": 1},
                         "3": {"head_dim": 48, "num_key_value_heads": 1}}})";
  const Gemma4Config c = config_from_hf_json(text, "test");
  EXPECT_EQ(*c.global_head_dim, 48);
  EXPECT_EQ(*c.num_global_key_value_heads, 1);
  EXPECT_EQ(c.layer_head_dim(1), 48);
  EXPECT_EQ(c.layer_head_dim(0), 16);
  EXPECT_EQ(c.layer_kv_heads(3), 1);
  EXPECT_EQ(c.dtype, "bfloat16");
}

TEST(Config, ReadsHuggingFaceTextConfig) {
  const std::string text = R"({
    "model_type": "gemma4", "eos_token_id": [1, 106],
    "text_config": {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "global_head_dim": 32,
      "attention_k_eq_v": true, "num_global_key_value_heads": 1, "sliding_window": 8,
      "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
      "rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                          "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                                             "rope_theta": 1000000.0, "factor": 8.0}},
      "final_logit_softcapping": 30.0, "hidden_size_per_layer_input": 0,
      "enable_moe_block": true, "num_experts": 4, "top_k_experts": 2, "moe_intermediate_size": 16,
      "use_bidirectional_attention": "vision"}})";
  Gemma4Config c = config_from_hf_json(text, "test");
  EXPECT_EQ(c.vocabulary_size, 512);
  EXPECT_EQ(c.hidden_dim, 64);
  EXPECT_EQ(*c.global_head_dim, 32);
  EXPECT_EQ(*c.num_global_key_value_heads, 1);
  EXPECT_TRUE(c.is_global(3));
  EXPECT_EQ(c.global_rope_scaling_factor, 8.0);
  EXPECT_EQ(*c.global_rope_wavelength, 1e6);
  EXPECT_EQ(*c.expert_intermediate_dim, 16);
  EXPECT_EQ(c.num_experts_per_token, 2);
  EXPECT_TRUE(c.use_vision_bidirectional_attention);
  EXPECT_EQ(*c.final_logit_soft_cap, 30.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{1, 106}));
  EXPECT_EQ(c.hidden_size_per_layer_input, 0);
}

TEST(Config, HuggingFaceRoundTrip) {
  Gemma4Config c = keras_tiny();
  c.global_head_dim = 8;
  c.num_global_key_value_heads = 1;
  c.final_logit_soft_cap = 30.0;
  c.attention_logit_soft_cap = 50.0;
  c.local_rope_scaling_factor = 2.0;
  c.hidden_size_per_layer_input = 4;
  Gemma4Config back = config_from_hf_json(config_to_hf_json(c), "round trip");
  EXPECT_EQ(back.num_layers, c.num_layers);
  EXPECT_EQ(*back.global_head_dim, 8);
  EXPECT_EQ(*back.num_global_key_value_heads, 1);
  EXPECT_EQ(*back.attention_logit_soft_cap, 50.0);
  EXPECT_EQ(back.local_rope_scaling_factor, 2.0);
  EXPECT_EQ(back.hidden_size_per_layer_input, 4);
  for (int l = 0; l < c.num_layers; ++l) EXPECT_EQ(back.is_global(l), c.is_global(l));
}

TEST(Config, ReadsKerasConfigAndRejectsOtherClasses) {
  Gemma4Config c = config_from_keras_json(
      R"({"class_name": "Gemma4Backbone", "config": {"vocabulary_size": 256, "num_layers": 6, "num_query_heads": 2,
          "num_key_value_heads": 1, "hidden_dim": 8, "intermediate_dim": 16, "head_dim": 4, "image_size": null,
          "global_head_dim": null, "dtype": {"class_name": "DTypePolicy", "config": {"name": "bfloat16"}}}})",
      "keras");
  EXPECT_EQ(c.num_layers, 6);
  EXPECT_FALSE(c.global_head_dim.has_value());
  EXPECT_EQ(c.dtype, "bfloat16");
  EXPECT_THROW(config_from_keras_json(R"({"class_name": "GemmaBackbone", "config": {}})", "k"), Error);
  EXPECT_THROW(config_from_keras_json(R"({"vocabulary_size": 8})", "k"), Error);
  EXPECT_THROW(config_from_hf_json("{not json", "broken"), Error);
  EXPECT_THROW(config_from_hf_json(R"({"model_type": "llama"})", "other"), Error);
}

}  // namespace
}  // namespace gemma4
