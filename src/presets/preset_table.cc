// The built-in presets: KerasHub's gemma4_presets.py metadata (names, descriptions, rounded parameter
// counts, Kaggle handles) plus the configurations behind them, which KerasHub does not ship in code:
// they are the Hugging Face variant table (transformers convert_gemma4_weights.py::_VARIANTS) mapped to
// Gemma4Backbone arguments (keras-hub keras_hub/src/models/gemma4/gemma4_presets.py; transformers models/gemma4/convert_gemma4_weights.py).
#include <gemma4/preset.h>

namespace gemma4 {
namespace {

std::vector<LayerType> repeat_pattern(int sliding_per_group, int groups) {
  std::vector<LayerType> types;
  for (int g = 0; g < groups; ++g) {
    for (int s = 0; s < sliding_per_group; ++s) types.push_back(LayerType::kSliding);
    types.push_back(LayerType::kFull);
  }
  return types;
}

// Fields every released Gemma 4 text backbone shares.
Gemma4Config gemma4_common() {
  Gemma4Config c;
  c.vocabulary_size = 262144;
  c.image_size = 896;
  c.head_dim = 256;
  c.global_head_dim = 512;
  c.final_logit_soft_cap = 30.0;
  c.local_rope_wavelength = 1e4;
  c.global_rope_wavelength = 1e6;
  c.global_rope_partial_rotary_factor = 0.25;
  c.layer_norm_epsilon = 1e-6;
  return c;
}

Gemma4Config e2b_config() {
  Gemma4Config c = gemma4_common();
  c.num_layers = 35;
  c.hidden_dim = 1536;
  c.intermediate_dim = 6144;
  c.num_query_heads = 8;
  c.num_key_value_heads = 1;
  c.layer_types = repeat_pattern(4, 7);
  c.sliding_window_size = 512;
  c.num_kv_shared_layers = 20;
  c.use_double_wide_mlp = true;
  c.hidden_size_per_layer_input = 256;
  c.vocab_size_per_layer_input = 262144;
  c.num_audio_tokens_per_clip = 750;  // KerasHub's default once an audio encoder is attached
  return c;
}

Gemma4Config e4b_config() {
  Gemma4Config c = gemma4_common();
  c.num_layers = 42;
  c.hidden_dim = 2560;
  c.intermediate_dim = 10240;
  c.num_query_heads = 8;
  c.num_key_value_heads = 2;
  c.layer_types = repeat_pattern(5, 7);
  c.sliding_window_size = 512;
  c.num_kv_shared_layers = 18;
  c.hidden_size_per_layer_input = 256;
  c.vocab_size_per_layer_input = 262144;
  c.num_audio_tokens_per_clip = 750;
  return c;
}

Gemma4Config a4b_config() {
  Gemma4Config c = gemma4_common();
  c.num_layers = 30;
  c.hidden_dim = 2816;
  c.intermediate_dim = 2112;
  c.num_query_heads = 16;
  c.num_key_value_heads = 8;
  c.num_global_key_value_heads = 2;
  c.layer_types = repeat_pattern(5, 5);
  c.sliding_window_size = 1024;
  c.enable_moe_block = true;
  c.num_experts = 128;
  c.expert_intermediate_dim = 704;
  c.num_experts_per_token = 8;
  c.use_vision_bidirectional_attention = true;
  c.max_position_embeddings = 262144;
  return c;
}

Gemma4Config dense31b_config() {
  Gemma4Config c = gemma4_common();
  c.num_layers = 60;
  c.hidden_dim = 5376;
  c.intermediate_dim = 21504;
  c.num_query_heads = 32;
  c.num_key_value_heads = 16;
  c.num_global_key_value_heads = 4;
  c.layer_types = repeat_pattern(5, 10);
  c.sliding_window_size = 1024;
  c.use_vision_bidirectional_attention = true;
  c.max_position_embeddings = 262144;
  return c;
}

VisionConfig on_device_vision(int64_t text_width) {
  VisionConfig v;  // the defaults are the on-device tower's sizes; it clips its linears
  v.use_clipped_linears = true;
  v.output_dim = text_width;
  return v;
}

VisionConfig large_vision(int64_t text_width) {
  VisionConfig v;
  v.hidden_dim = 1152;
  v.num_layers = 27;
  v.num_heads = 16;
  v.num_key_value_heads = 16;
  v.head_dim = 72;
  v.intermediate_dim = 4304;
  v.use_clipped_linears = false;
  v.standardize = true;
  v.output_dim = text_width;
  return v;
}

AudioConfig default_audio(int64_t text_width) {
  AudioConfig a;
  a.output_dim = text_width;
  return a;
}

// The MTP assistants (Gemma4AssistantCausalLM). The spec gives only: a 4-layer Gemma4Backbone whose
// layers are all KV-shared, and KerasHub's rounded counts 77.7M / 77.7M / 412.8M / 454.7M.
// INFERRED (not read from a real config.json), chosen to be consistent with public fragments:
//  * all: 4 layers [sliding x3, full], head_dim 256 / global 512 (they read the target's K/V, so the
//    head geometry and KV head counts are the target's), vocabulary 262144, final soft-cap 30.
//  * E2B/E4B: hidden 256, 4 query heads, intermediate 2048, ordered embeddings with 2048 centroids
//    (HF Gemma4AssistantConfig defaults). E2B counts 77,731,332 = 77.7M exactly (0.04% off) when
//    token_ordering (a non-trainable lookup table) is left out. E4B with the same drafter counts
//    78,517,764 (+1.0%): its only difference is the wider pre/post projections (target 2560); KerasHub's
//    77.7M for E4B looks copied from E2B.
//  * 26B-A4B/31B: hidden 1024, intermediate 8192, no ordered embeddings, query heads = the target's.
//    This gives 419.7M (+1.7%) and 469.5M (+3.3%): the real configs differ somewhere we cannot see.
Gemma4Config assistant_config(const Gemma4Config& target, int64_t hidden, int64_t query_heads, int64_t intermediate) {
  Gemma4Config c = gemma4_common();
  c.num_layers = 4;
  c.hidden_dim = hidden;
  c.intermediate_dim = intermediate;
  c.num_query_heads = query_heads;
  c.num_key_value_heads = target.num_key_value_heads;
  c.num_global_key_value_heads = target.num_global_key_value_heads;
  c.layer_types = repeat_pattern(3, 1);
  c.sliding_window_size = target.sliding_window_size;
  c.num_kv_shared_layers = 4;  // every layer: the target's cache supplies K and V
  c.image_size.reset();
  c.max_position_embeddings = target.max_position_embeddings;
  c.eos_token_ids = {1, 106};
  return c;
}

constexpr const char* kE2BText =
    "2.3B effective parameters (5.1B total with Per-Layer Embeddings), 35-layer, audio+vision+text";
constexpr const char* kE4BText =
    "4.5B effective parameters (7.9B total with Per-Layer Embeddings), 42-layer, audio+vision+text";
constexpr const char* kPleNote =
    " Gemma4 model. The 'E' denotes effective parameters — PLE gives each decoder layer its own token embedding "
    "table, maximizing parameter efficiency for on-device deployment.";
constexpr const char* kMoeNote =
    " The 'A' denotes active parameters — by activating only a 4B subset during inference, this MoE model runs "
    "nearly as fast as a dense 4B model.";
constexpr const char* kDenseNote =
    " The dense model in the Gemma 4 family, offering maximum quality for deployments where inference speed is "
    "less of a constraint.";

PresetInfo make(std::string name, std::string description, int64_t params, std::string hf_repo, Gemma4Config config,
                int kaggle_version) {
  PresetInfo info;
  info.kaggle_handle = "kaggle://keras/gemma4/keras/" + name + "/" + std::to_string(kaggle_version);
  info.name = std::move(name);
  info.description = std::move(description);
  info.metadata_params = params;
  info.hf_repo = std::move(hf_repo);
  info.config = std::move(config);
  return info;
}

std::vector<PresetInfo> build_presets() {
  std::vector<PresetInfo> presets;
  // Kaggle versions: keras-hub's gemma4_presets.py gives version 2 for every backbone preset (older
  // gemma4_presets.py revisions used 1); the resolver accepts any version found in the cache.
  for (bool instruct : {false, true}) {
    const std::string kind = instruct ? "instruction-tuned" : "pretrained";
    const std::string title = instruct ? "instruction-tuned model: " : "base model: ";
    Gemma4Config e2b = e2b_config();
    Gemma4Config e4b = e4b_config();
    if (instruct) e2b.eos_token_ids = e4b.eos_token_ids = {1, 106};
    PresetInfo p2 = make(instruct ? "gemma4_instruct_2b" : "gemma4_2b",
                         std::string("Gemma 4 E2B ") + title + kE2BText + " " + kind + kPleNote, 5100000000,
                         instruct ? "google/gemma-4-E2B-it" : "google/gemma-4-E2B", e2b, 2);
    p2.vision = on_device_vision(1536);
    p2.audio = default_audio(1536);
    PresetInfo p4 = make(instruct ? "gemma4_instruct_4b" : "gemma4_4b",
                         std::string("Gemma 4 E4B ") + title + kE4BText + " " + kind + kPleNote, 7900000000,
                         instruct ? "google/gemma-4-E4B-it" : "google/gemma-4-E4B", e4b, 2);
    p4.vision = on_device_vision(2560);
    p4.audio = default_audio(2560);
    presets.push_back(std::move(p2));
    presets.push_back(std::move(p4));
  }
  // pushed as 2b, 4b, instruct_2b, instruct_4b; KerasHub's order is 2b, instruct_2b, 4b, instruct_4b.
  std::vector<PresetInfo> ordered = {presets[0], presets[2], presets[1], presets[3]};
  for (bool instruct : {false, true}) {
    const std::string kind = instruct ? "instruction-tuned" : "pretrained";
    const std::string title = instruct ? "instruction-tuned model: " : "base model: ";
    Gemma4Config moe = a4b_config();
    if (instruct) moe.eos_token_ids = {1, 106};
    PresetInfo p = make(instruct ? "gemma4_instruct_26b_a4b" : "gemma4_26b_a4b",
                        "Gemma 4 26B A4B " + title +
                            "Mixture-of-Experts (MoE) model with 26B total parameters and only 4B active parameters "
                            "per forward pass, 30-layer, vision+text " + kind + " Gemma4 model." + kMoeNote,
                        26000000000, instruct ? "google/gemma-4-26B-A4B-it" : "google/gemma-4-26B-A4B", moe, 2);
    p.vision = large_vision(2816);
    ordered.push_back(std::move(p));
  }
  for (bool instruct : {false, true}) {
    const std::string kind = instruct ? "instruction-tuned" : "pretrained";
    const std::string title = instruct ? "instruction-tuned model: " : "base model: ";
    Gemma4Config dense = dense31b_config();
    if (instruct) dense.eos_token_ids = {1, 106};
    PresetInfo p = make(instruct ? "gemma4_instruct_31b" : "gemma4_31b",
                        "Gemma 4 31B " + title + "31B parameter, 60-layer, dense vision+text " + kind +
                            " Gemma4 model." + kDenseNote,
                        31000000000, instruct ? "google/gemma-4-31B-it" : "google/gemma-4-31B", dense, 2);
    p.vision = large_vision(5376);
    ordered.push_back(std::move(p));
  }

  // Assistants (Kaggle version INFERRED as 1; their metadata descriptions are our own words).
  struct AssistantRow {
    const char* name;
    const char* target_name;
    const char* hf_repo;
    int64_t params;
    Gemma4Config target;
    int64_t hidden, heads, intermediate;
    bool ordered_embeddings;
  };
  const AssistantRow rows[] = {
      {"gemma4_instruct_2b_assistant", "gemma4_instruct_2b", "google/gemma-4-E2B-it-assistant", 77700000, e2b_config(),
       256, 4, 2048, true},
      {"gemma4_instruct_4b_assistant", "gemma4_instruct_4b", "google/gemma-4-E4B-it-assistant", 77700000, e4b_config(),
       256, 4, 2048, true},
      {"gemma4_instruct_26b_a4b_assistant", "gemma4_instruct_26b_a4b", "google/gemma-4-26B-A4B-it-assistant", 412800000,
       a4b_config(), 1024, 16, 8192, false},
      {"gemma4_instruct_31b_assistant", "gemma4_instruct_31b", "google/gemma-4-31B-it-assistant", 454700000,
       dense31b_config(), 1024, 32, 8192, false},
  };
  for (const auto& row : rows) {
    PresetInfo p = make(row.name,
                        std::string("Gemma 4 multi-token-prediction assistant (draft model) for speculative decoding "
                                    "with ") + row.target_name +
                            ": a 4-layer backbone whose layers all reuse the target model's keys and values.",
                        row.params, row.hf_repo,
                        assistant_config(row.target, row.hidden, row.heads, row.intermediate), 1);
    AssistantHeadConfig head;
    head.backbone_hidden_size = row.target.hidden_dim;
    head.use_ordered_embeddings = row.ordered_embeddings;
    p.assistant = head;
    ordered.push_back(std::move(p));
  }
  return ordered;
}

}  // namespace

const std::vector<PresetInfo>& builtin_presets() {
  static const std::vector<PresetInfo> presets = build_presets();
  return presets;
}

const PresetInfo* find_builtin_preset(const std::string& name) {
  for (const auto& preset : builtin_presets()) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

}  // namespace gemma4
