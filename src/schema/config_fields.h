// Every Gemma4Config field once, with its name in each format: the KerasHub Gemma4Backbone argument, the
// Hugging Face config.json key (or path) and the GGUF metadata key. The config.json readers and writers
// (formats/config_json.cc), the from_preset override names (presets/config_overrides.cc) and the GGUF
// metadata (formats/gguf_model.cc) all walk this one list, so a field added here reaches every format.
// Names: KerasHub's gemma4_backbone.py, Hugging Face's configuration_gemma4.py (keras-team/keras-hub,
// huggingface/transformers), llama.cpp's src/llama-arch.cpp (ggml-org/llama.cpp); docs/config.md.
#pragma once

#include <gemma4/config.h>

#include <optional>
#include <string>
#include <type_traits>

namespace gemma4::config_fields {

// How a Hugging Face config.json holds a field (bit flags).
enum HfFlags : unsigned {
  kHfRead = 1,       // the reader takes `hf` from the text config
  kHfWrite = 2,      // the writer puts the value under `hf` in the text config
  kHfExtension = 4,  // the writer puts it in "keras_hub_extensions" under the KerasHub name (the reader applies
                     // that object last), because Hugging Face has no key that holds every value
  kHfPlain = kHfRead | kHfWrite,
};

// How GGUF metadata holds a field.
enum class Gguf {
  kNone,      // not stored (the writer refuses configs GGUF cannot express; see write_gguf_model)
  kRequired,  // read (missing: an error naming the key) and written
  kOptional,  // read when present (else the default stays) and written
  kReadOnly,  // read when present; written by explicit code
  kExplicit,  // explicit code both ways: per-layer arrays, tensor shapes, values derived from other keys
};

struct FieldSpec {
  const char* keras;  // Gemma4Backbone argument; nullptr: not one (token ids, context length)
  const char* hf;     // Hugging Face key, or the path explicit code reads (documentation); nullptr: none
  unsigned hf_flags;
  const char* gguf;   // GGUF key; nullptr: none or a tensor's shape
  Gguf gguf_rule;
};

template <class T>
inline constexpr bool kIsOptional = false;
template <class T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

// The fields every generic walk handles: numbers, bools and optional numbers. The others (dtype's string,
// layer_types, eos_token_ids) are visited too but converted by explicit code.
template <class T>
inline constexpr bool kIsScalar = std::is_arithmetic_v<T> || kIsOptional<T>;

// Calls visitor(const FieldSpec&, field&) for each field of `config` (Gemma4Config or const Gemma4Config),
// in declaration order.
template <class Config, class Visitor>
  requires std::is_same_v<std::remove_const_t<Config>, Gemma4Config>
void visit_fields(Config& c, Visitor&& v) {
  using G = Gguf;
  // clang-format off
  v(FieldSpec{"vocabulary_size", "vocab_size", kHfPlain, nullptr, G::kExplicit}, c.vocabulary_size);  // token_embd rows
  v(FieldSpec{"image_size", nullptr, kHfExtension, nullptr, G::kNone}, c.image_size);
  v(FieldSpec{"num_layers", "num_hidden_layers", kHfPlain, "gemma4.block_count", G::kRequired}, c.num_layers);
  v(FieldSpec{"num_query_heads", "num_attention_heads", kHfPlain, "gemma4.attention.head_count", G::kRequired},
    c.num_query_heads);
  v(FieldSpec{"num_key_value_heads", "num_key_value_heads", kHfPlain, "gemma4.attention.head_count_kv", G::kExplicit},
    c.num_key_value_heads);  // GGUF: per layer
  v(FieldSpec{"hidden_dim", "hidden_size", kHfPlain, "gemma4.embedding_length", G::kRequired}, c.hidden_dim);
  v(FieldSpec{"intermediate_dim", "intermediate_size", kHfPlain, "gemma4.feed_forward_length", G::kExplicit},
    c.intermediate_dim);  // GGUF: per layer
  v(FieldSpec{"head_dim", "head_dim", kHfPlain, "gemma4.attention.key_length_swa", G::kExplicit}, c.head_dim);
  v(FieldSpec{"query_head_dim_normalize", nullptr, kHfExtension, nullptr, G::kNone}, c.query_head_dim_normalize);
  v(FieldSpec{"attention_logit_soft_cap", "attn_logit_softcapping", kHfRead | kHfExtension, nullptr, G::kNone},
    c.attention_logit_soft_cap);  // HF: Gemma 2's name, not in Gemma4TextConfig
  v(FieldSpec{"final_logit_soft_cap", "final_logit_softcapping", kHfPlain, "gemma4.final_logit_softcapping",
              G::kOptional}, c.final_logit_soft_cap);
  v(FieldSpec{"use_sliding_window_attention", nullptr, kHfExtension, nullptr, G::kNone},
    c.use_sliding_window_attention);
  v(FieldSpec{"sliding_window_size", "sliding_window", kHfPlain, "gemma4.attention.sliding_window", G::kOptional},
    c.sliding_window_size);
  v(FieldSpec{"sliding_window_pattern", nullptr, kHfExtension, "gemma4.attention.sliding_window_pattern",
              G::kExplicit}, c.sliding_window_pattern);  // HF and GGUF: as layer types
  v(FieldSpec{"global_head_dim", "global_head_dim", kHfRead, "gemma4.attention.key_length", G::kExplicit},
    c.global_head_dim);  // HF: written as global_head_dim or head_dim
  v(FieldSpec{"local_rope_scaling_factor", "rope_parameters.sliding_attention.factor", kHfExtension, nullptr,
              G::kNone}, c.local_rope_scaling_factor);
  v(FieldSpec{"global_rope_scaling_factor", "rope_parameters.full_attention.factor", kHfExtension, nullptr,
              G::kNone}, c.global_rope_scaling_factor);
  v(FieldSpec{"num_audio_tokens_per_clip", nullptr, kHfExtension, nullptr, G::kNone}, c.num_audio_tokens_per_clip);
  v(FieldSpec{"layer_norm_epsilon", "rms_norm_eps", kHfPlain, "gemma4.attention.layer_norm_rms_epsilon",
              G::kRequired}, c.layer_norm_epsilon);
  v(FieldSpec{"use_bidirectional_attention", "use_bidirectional_attention", kHfExtension, nullptr, G::kNone},
    c.use_bidirectional_attention);  // HF: the value "all"
  v(FieldSpec{"use_vision_bidirectional_attention", "use_bidirectional_attention", 0, nullptr, G::kNone},
    c.use_vision_bidirectional_attention);  // HF: the value "vision"
  v(FieldSpec{"dropout", nullptr, kHfExtension, nullptr, G::kNone}, c.dropout);
  v(FieldSpec{"is_embedding_model", nullptr, kHfExtension, nullptr, G::kNone}, c.is_embedding_model);
  v(FieldSpec{"pooling_intermediate_dim", nullptr, kHfExtension, nullptr, G::kNone}, c.pooling_intermediate_dim);
  v(FieldSpec{"embedding_dim", nullptr, kHfExtension, nullptr, G::kNone}, c.embedding_dim);
  v(FieldSpec{"num_kv_shared_layers", "num_kv_shared_layers", kHfPlain, "gemma4.attention.shared_kv_layers",
              G::kOptional}, c.num_kv_shared_layers);
  v(FieldSpec{"num_global_key_value_heads", "num_global_key_value_heads", kHfWrite, "gemma4.attention.head_count_kv",
              G::kExplicit}, c.num_global_key_value_heads);  // HF: read when attention_k_eq_v; GGUF: per layer
  v(FieldSpec{"hidden_size_per_layer_input", "hidden_size_per_layer_input", kHfPlain,
              "gemma4.embedding_length_per_layer_input", G::kOptional}, c.hidden_size_per_layer_input);
  v(FieldSpec{"vocab_size_per_layer_input", "vocab_size_per_layer_input", kHfRead, nullptr, G::kExplicit},
    c.vocab_size_per_layer_input);  // HF: written as the PLE table's rows; GGUF: per_layer_token_embd rows
  v(FieldSpec{"global_rope_wavelength", "rope_parameters.full_attention.rope_theta", 0, "gemma4.rope.freq_base",
              G::kOptional}, c.global_rope_wavelength);
  v(FieldSpec{"local_rope_wavelength", "rope_parameters.sliding_attention.rope_theta", 0, "gemma4.rope.freq_base_swa",
              G::kOptional}, c.local_rope_wavelength);
  v(FieldSpec{"global_rope_partial_rotary_factor", "rope_parameters.full_attention.partial_rotary_factor", 0,
              nullptr, G::kExplicit}, c.global_rope_partial_rotary_factor);  // GGUF: the rope_freqs tensor
  v(FieldSpec{"use_double_wide_mlp", "use_double_wide_mlp", kHfPlain, "gemma4.feed_forward_length", G::kExplicit},
    c.use_double_wide_mlp);
  v(FieldSpec{"enable_moe_block", "enable_moe_block", kHfPlain, "gemma4.expert_count", G::kExplicit},
    c.enable_moe_block);
  v(FieldSpec{"num_experts", "num_experts", kHfPlain, "gemma4.expert_count", G::kExplicit}, c.num_experts);
  v(FieldSpec{"expert_intermediate_dim", "moe_intermediate_size", kHfPlain, "gemma4.expert_feed_forward_length",
              G::kExplicit}, c.expert_intermediate_dim);
  v(FieldSpec{"num_experts_per_token", "top_k_experts", kHfRead, "gemma4.expert_used_count", G::kExplicit},
    c.num_experts_per_token);  // HF: written only with MoE
  v(FieldSpec{"dtype", nullptr, 0, nullptr, G::kNone}, c.dtype);  // KerasHub: a string or a DTypePolicy
  v(FieldSpec{"layer_types", "layer_types", 0, "gemma4.attention.sliding_window_pattern", G::kExplicit},
    c.layer_types);
  v(FieldSpec{nullptr, "pad_token_id", kHfPlain, "tokenizer.ggml.padding_token_id", G::kOptional}, c.pad_token_id);
  v(FieldSpec{nullptr, "bos_token_id", kHfPlain, "tokenizer.ggml.bos_token_id", G::kReadOnly}, c.bos_token_id);
  v(FieldSpec{nullptr, "eos_token_id", 0, "tokenizer.ggml.eos_token_id", G::kExplicit}, c.eos_token_ids);
  v(FieldSpec{nullptr, "max_position_embeddings", kHfPlain, "gemma4.context_length", G::kOptional},
    c.max_position_embeddings);
  // clang-format on
}

}  // namespace gemma4::config_fields
