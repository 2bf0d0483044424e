// GGUF files as llama.cpp's converter writes them for Gemma 4: reading into a Checkpoint with canonical
// tensor names, and writing one. Key and tensor names: llama.cpp's src/llama-arch.cpp and conversion/gemma.py (docs/formats.md).
#include "formats/gguf_model.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <unordered_set>

#include "core/file_io.h"
#include "formats/config_limits.h"
#include "formats/gguf.h"
#include "formats/gguf_mmproj.h"
#include "formats/gguf_writer.h"
#include "formats/json_file.h"
#include "kernels/quantize.h"
#include "kernels/matmul.h"
#include "schema/config_fields.h"
#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;
const std::string kArch = "gemma4";
std::string key(const std::string& suffix) { return kArch + "." + suffix; }

// llama.cpp token types (llama_token_type).
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// A per-layer u32 key that may also be stored as an [L] integer array.
std::vector<int64_t> per_layer_ints(const gguf::GgufFile& file, const std::string& name, int64_t layers) {
  const gguf::Value* v = file.find(name);
  if (v == nullptr) throw Error("GGUF file '" + file.path() + "': required metadata '" + name + "' is missing");
  if (v->is_array()) {
    if (!gguf::is_integer_type(v->elem_type) || static_cast<int64_t>(v->ints.size()) != layers) {
      throw Error("GGUF file '" + file.path() + "': metadata '" + name + "' is an array of " +
                  std::to_string(v->array_size()) + " " + gguf::value_type_name(v->elem_type) +
                  " but block_count is " + std::to_string(layers) + " (expected one integer per layer)");
    }
    return v->ints;
  }
  return std::vector<int64_t>(static_cast<size_t>(layers), file.get_int(name));
}

// The metadata keys of schema/config_fields.h that hold one plain value (Gguf::kRequired / kOptional / kReadOnly).
void read_plain_fields(const gguf::GgufFile& f, Gemma4Config& c) {
  using config_fields::Gguf;
  config_fields::visit_fields(c, [&](const config_fields::FieldSpec& spec, auto& field) {
    using T = std::remove_cvref_t<decltype(field)>;
    if constexpr (config_fields::kIsScalar<T>) {
      if (spec.gguf_rule != Gguf::kRequired && spec.gguf_rule != Gguf::kOptional && spec.gguf_rule != Gguf::kReadOnly) {
        return;
      }
      constexpr bool kFloat = std::is_floating_point_v<T> || std::is_same_v<T, std::optional<double>>;
      if (spec.gguf_rule == Gguf::kRequired) {
        if constexpr (kFloat) field = f.get_float(spec.gguf); else field = f.get_int(spec.gguf);
      } else if constexpr (kFloat) {
        if (auto value = f.get_float_opt(spec.gguf)) field = *value;
      } else {
        if (auto value = f.get_int_opt(spec.gguf)) field = *value;
      }
    }
  });
}

// Writes those keys: integers as u32 (as llama.cpp's converter does), reals as f32; an unset optional is left out.
void write_plain_fields(gguf::GgufWriter& w, const Gemma4Config& c) {
  using config_fields::Gguf;
  config_fields::visit_fields(c, [&](const config_fields::FieldSpec& spec, const auto& field) {
    using T = std::remove_cvref_t<decltype(field)>;
    if constexpr (config_fields::kIsScalar<T>) {
      if (spec.gguf_rule != Gguf::kRequired && spec.gguf_rule != Gguf::kOptional) return;
      auto put = [&](auto value) {
        if constexpr (std::is_floating_point_v<decltype(value)>) {
          w.add_f32(spec.gguf, static_cast<float>(value));
        } else {
          w.add_u32(spec.gguf, static_cast<uint32_t>(value));
        }
      };
      if constexpr (config_fields::kIsOptional<T>) {
        if (field) put(*field);
      } else {
        put(field);
      }
    }
  });
}

constexpr const char* kComputeDtypeKey = "gemma4cpp.compute_dtype";

Gemma4Config config_from_gguf(const gguf::GgufFile& f) {
  const std::string& p = f.path();
  auto fail = [&](const std::string& message) { return Error("GGUF file '" + p + "': " + message); };
  const std::string arch = f.get_string("general.architecture");
  if (arch != kArch) throw fail("general.architecture is '" + arch + "', expected 'gemma4'");

  Gemma4Config c;
  read_plain_fields(f, c);
  // Our own key: the compute dtype of the checkpoint a GGUF was converted from (docs/formats.md). Files
  // from other converters have none: Gemma 4 then computes its normalisers in bf16, as it was trained.
  if (const auto dtype = f.get_string_opt(kComputeDtypeKey)) c.dtype = *dtype;
  if (c.num_layers <= 0 || c.num_layers > kMaxConfigLayers) {
    throw fail("block_count is " + std::to_string(c.num_layers) + ", expected 1 to " + std::to_string(kMaxConfigLayers));
  }
  c.global_head_dim = f.get_int(key("attention.key_length"));
  c.head_dim = f.get_int_opt(key("attention.key_length_swa")).value_or(*c.global_head_dim);
  for (const auto& [k_name, v_name] : {std::pair{"attention.key_length", "attention.value_length"},
                                       std::pair{"attention.key_length_swa", "attention.value_length_swa"}}) {
    const auto kl = f.get_int_opt(key(k_name)), vl = f.get_int_opt(key(v_name));
    if (kl && vl && *kl != *vl) {
      throw fail(std::string(k_name) + " (" + std::to_string(*kl) + ") differs from " + v_name + " (" +
                 std::to_string(*vl) + "); Gemma 4 needs equal key and value head sizes");
    }
  }

  // Layer types: a bool per layer (true = sliding), or llama.cpp's integer period form.
  const gguf::Value* pattern = f.find(key("attention.sliding_window_pattern"));
  if (pattern == nullptr) throw fail("required metadata 'gemma4.attention.sliding_window_pattern' is missing");
  if (pattern->is_array()) {
    if (!gguf::is_integer_type(pattern->elem_type) || static_cast<int64_t>(pattern->ints.size()) != c.num_layers) {
      throw fail("gemma4.attention.sliding_window_pattern has " + std::to_string(pattern->array_size()) +
                 " entries of type " + gguf::value_type_name(pattern->elem_type) + ", expected " +
                 std::to_string(c.num_layers) + " bools");
    }
    for (int64_t sliding : pattern->ints) c.layer_types.push_back(sliding ? LayerType::kSliding : LayerType::kFull);
  } else {
    const int64_t period = f.get_int(key("attention.sliding_window_pattern"));
    if (period <= 0) throw fail("gemma4.attention.sliding_window_pattern is " + std::to_string(period));
    for (int64_t l = 0; l < c.num_layers; ++l) {
      c.layer_types.push_back(l % period < period - 1 ? LayerType::kSliding : LayerType::kFull);
    }
  }

  // Rotary: whole head on both layer kinds; partial rotation of full layers is encoded in rope_freqs.
  if (!c.global_rope_wavelength) c.global_rope_wavelength = 1e6;  // KerasHub's None, made explicit
  if (!c.local_rope_wavelength) c.local_rope_wavelength = 1e4;
  if (auto dims = f.get_int_opt(key("rope.dimension_count")); dims && *dims != *c.global_head_dim) {
    throw fail("rope.dimension_count is " + std::to_string(*dims) + " but key_length is " +
               std::to_string(*c.global_head_dim) + "; only whole-head rotation (with rope_freqs) is supported");
  }
  if (auto dims = f.get_int_opt(key("rope.dimension_count_swa")); dims && *dims != c.head_dim) {
    throw fail("rope.dimension_count_swa is " + std::to_string(*dims) + " but key_length_swa is " +
               std::to_string(c.head_dim) + "; partial rotation on sliding layers is not supported");
  }
  c.global_rope_partial_rotary_factor = 1.0;
  if (const gguf::TensorInfo* freqs = f.find_tensor("rope_freqs.weight")) {
    const int64_t half = *c.global_head_dim / 2;
    if (freqs->dtype != DType::F32 || freqs->ne.size() != 1 || freqs->ne[0] != half) {
      throw fail("tensor 'rope_freqs.weight' is " + std::string(dtype_name(freqs->dtype)) + " " +
                 shape_to_string(freqs->shape()) + ", expected F32 [" + std::to_string(half) + "]");
    }
    const float* values = f.view(*freqs).f32();
    int64_t rotated = 0;
    while (rotated < half && values[rotated] == 1.0f) ++rotated;
    for (int64_t i = rotated; i < half; ++i) {
      if (!(values[i] >= 1e20f)) {
        throw fail("tensor 'rope_freqs.weight' entry " + std::to_string(i) + " is " + std::to_string(values[i]) +
                   "; only 1.0 (rotated) then ~1e30 (unrotated) is supported");
      }
    }
    if (rotated == 0) throw fail("tensor 'rope_freqs.weight' rotates no dimension pair");
    c.global_rope_partial_rotary_factor = 2.0 * static_cast<double>(rotated) / static_cast<double>(*c.global_head_dim);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      if (c.layer_types[l] == LayerType::kFull && c.rope_pairs(l) != rotated) {  // guard floor() rounding
        c.global_rope_partial_rotary_factor = (2.0 * static_cast<double>(rotated) + 0.5) / static_cast<double>(*c.global_head_dim);
        break;
      }
    }
  }
  if (c.final_logit_soft_cap && *c.final_logit_soft_cap <= 0) c.final_logit_soft_cap.reset();  // 0 = no cap

  // Vocabulary and PLE sizes come from the tensors themselves.
  const gguf::TensorInfo* embed = f.find_tensor("token_embd.weight");
  if (embed == nullptr) throw fail("tensor 'token_embd.weight' (embed_tokens.weight) is missing");
  if (embed->ne.size() != 2) throw fail("tensor 'token_embd.weight' has shape " + shape_to_string(embed->shape()) + ", expected 2-D");
  c.vocabulary_size = embed->ne[1];
  if (c.hidden_size_per_layer_input > 0) {
    if (const gguf::TensorInfo* ple = f.find_tensor("per_layer_token_embd.weight"); ple && ple->ne.size() == 2) {
      c.vocab_size_per_layer_input = ple->ne[1];
    }
  }

  // Heads per layer: K=V on full layers shows as a missing attn_v on non-shared full layers.
  const std::vector<int64_t> kv_heads = per_layer_ints(f, key("attention.head_count_kv"), c.num_layers);
  const std::vector<int64_t> ffn = per_layer_ints(f, key("feed_forward_length"), c.num_layers);
  const int64_t first_shared = c.num_layers - c.num_kv_shared_layers;
  bool k_eq_v = false;
  for (int64_t l = 0; l < first_shared; ++l) {
    if (c.layer_types[l] == LayerType::kFull &&
        f.find_tensor("blk." + std::to_string(l) + ".attn_v.weight") == nullptr &&
        f.find_tensor("blk." + std::to_string(l) + ".attn_k.weight") != nullptr) {
      k_eq_v = true;
    }
  }
  int64_t sliding_kv = -1, full_kv = -1;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    int64_t& slot = c.layer_types[l] == LayerType::kSliding ? sliding_kv : full_kv;
    if (slot >= 0 && slot != kv_heads[l]) {
      throw fail("gemma4.attention.head_count_kv differs between layers of the same attention type (layer " +
                 std::to_string(l) + " has " + std::to_string(kv_heads[l]) + ", an earlier one " + std::to_string(slot) + ")");
    }
    slot = kv_heads[l];
  }
  c.num_key_value_heads = sliding_kv >= 0 ? sliding_kv : full_kv;
  if (k_eq_v) {
    c.num_global_key_value_heads = full_kv;
  } else if (full_kv >= 0 && sliding_kv >= 0 && full_kv != sliding_kv) {
    throw fail("full-attention layers have " + std::to_string(full_kv) + " KV heads and sliding layers " +
               std::to_string(sliding_kv) + ", but full layers carry attn_v (not K=V); not representable");
  }
  c.intermediate_dim = ffn[0];
  for (int64_t l = first_shared; l < c.num_layers; ++l) {
    if (ffn[l] == 2 * c.intermediate_dim) c.use_double_wide_mlp = true;
  }
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (ffn[l] != c.ffn_width(l)) {
      throw fail("gemma4.feed_forward_length of layer " + std::to_string(l) + " is " + std::to_string(ffn[l]) +
                 ", expected " + std::to_string(c.ffn_width(l)) +
                 " (Gemma 4 allows only intermediate_size, doubled on KV-shared layers)");
    }
  }

  if (auto experts = f.get_int_opt(key("expert_count")); experts && *experts > 0) {
    c.enable_moe_block = true;
    c.num_experts = *experts;
    c.num_experts_per_token = f.get_int(key("expert_used_count"));
    c.expert_intermediate_dim = per_layer_ints(f, key("expert_feed_forward_length"), c.num_layers)[0];
  }

  if (auto eos = f.get_int_opt("tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*eos};
  try {
    check_config_limits(c, "gemma4.* keys");
    c.validate();
  } catch (const Error& e) {
    throw fail(std::string("metadata gives an invalid config: ") + e.what());
  }
  return c;
}

// "blk.{l}.x" patterns of tensors KV-shared layers may carry although nothing reads them.
bool unused_on_shared_layer(const std::string& pattern) {
  return pattern == "blk.{l}.attn_k.weight" || pattern == "blk.{l}.attn_v.weight" ||
         pattern == "blk.{l}.attn_k_norm.weight";
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "GGUF", 4) == 0;
}

Checkpoint read_gguf_checkpoint(const std::string& path) {
  auto file = gguf::GgufFile::open(path);
  Checkpoint loaded;
  loaded.path = path;
  loaded.config = config_from_gguf(*file);
  const Gemma4Config& config = loaded.config;
  auto source = std::make_shared<WeightSource>();
  source->description = "GGUF file '" + path + "'";
  source->keep_alive(file);

  std::map<std::string, bool> used;  // GGUF tensor name -> bound
  for (const auto& t : file->tensors()) used[t.name] = false;
  for (const auto& expected : expected_text_tensors(config)) {
    if (expected.gguf_name.empty()) {
      throw Error("GGUF file '" + path + "': tensor '" + expected.name + "' has no GGUF name (embedding models "
                  "cannot be stored as GGUF)");
    }
    const gguf::TensorInfo* info = file->find_tensor(expected.gguf_name);
    if (info == nullptr) {
      throw Error("GGUF file '" + path + "': missing tensor '" + expected.gguf_name + "' (" + expected.name +
                  ", expected shape " + shape_to_string(expected.shape) + ")");
    }
    if (info->shape() != expected.shape) {
      throw Error("GGUF file '" + path + "': tensor '" + expected.gguf_name + "' (" + expected.name + ") has shape " +
                  shape_to_string(info->shape()) + " but the metadata implies " + shape_to_string(expected.shape));
    }
    source->add(expected.name, file->view(*info), path);
    used[info->name] = true;
  }
  if (const gguf::TensorInfo* head = file->find_tensor("output.weight")) {  // untied output matrix
    source->add("lm_head.weight", file->view(*head), path);
    used[head->name] = true;
  }
  used["rope_freqs.weight"] = true;  // read into the config above
  loaded.weights = source;
  if (has_bundled_encoder_tensors(*file)) add_bundled_encoders(*file, loaded, used);  // ollama's single file
  for (const auto& [name, bound] : used) {
    if (bound) continue;
    bool tolerated = false;
    for (int64_t l = config.first_kv_shared_layer(); l < config.num_layers && !tolerated; ++l) {
      for (const char* pattern : {"blk.{l}.attn_k.weight", "blk.{l}.attn_v.weight", "blk.{l}.attn_k_norm.weight"}) {
        if (unused_on_shared_layer(pattern) && name == expand_tensor_name(pattern, l)) tolerated = true;
      }
    }
    if (!tolerated) {
      throw Error("GGUF file '" + path + "': unexpected tensor '" + name +
                  "' (not part of a Gemma 4 text model with this metadata)");
    }
  }
  loaded.weights = std::move(source);
  loaded.format = "gguf";
  loaded.tokenizer.bpe = bpe_spec_from_gguf(*file);
  if (const gguf::Value* add_bos = file->find("tokenizer.ggml.add_bos_token"); add_bos && add_bos->type == gguf::ValueType::kBool) {
    loaded.tokenizer.add_bos = add_bos->i != 0;
  }
  if (const auto chat_template = file->get_string_opt("tokenizer.chat_template")) {
    loaded.tokenizer.chat_template = *chat_template;
    loaded.tokenizer.chat_template_origin = "GGUF file '" + path + "' (tokenizer.chat_template)";
  }
  return loaded;
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizer: GGUF keys <-> Hugging Face tokenizer.json.

// The tokenizer the GGUF's tokenizer.ggml.* keys describe, in the shape of Gemma 4's tokenizer.json: " " -> "▁",
// split on spaces (merged with the previous piece), byte fallback, control / user-defined tokens as added tokens.
// llama.cpp writes Gemma 4's tokenizer as model "gemma4"; ollama writes the same BPE vocabulary and merges as
// model "llama" with pre "gemma4" (convert/convert_gemma4.go; its reader builds a BPE tokenizer with a
// SentencePiece-style normalizer from them, model/models/gemma4/model.go).
static bool is_gemma4_bpe_tokenizer(const gguf::GgufFile& file) {
  const auto model = file.get_string_opt("tokenizer.ggml.model");
  if (model && *model == "gemma4") return true;
  if (!model || *model != "llama" || file.get_string_opt("tokenizer.ggml.pre").value_or("") != "gemma4") return false;
  if (file.find("tokenizer.ggml.merges") == nullptr) {
    throw Error("GGUF file '" + file.path() + "': tokenizer.ggml.model 'llama' with pre 'gemma4' (ollama's Gemma 4 "
                "layout) but no tokenizer.ggml.merges; only the BPE form (from tokenizer.json) is supported");
  }
  return true;
}

std::shared_ptr<const text::BpeSpec> bpe_spec_from_gguf(const gguf::GgufFile& file) {
  if (!is_gemma4_bpe_tokenizer(file)) return nullptr;
  const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
  if (tokens == nullptr || !tokens->is_array() || tokens->elem_type != gguf::ValueType::kString) {
    throw Error("GGUF file '" + file.path() + "': tokenizer.ggml.tokens is missing or not a string array");
  }
  const gguf::Value* types = file.find("tokenizer.ggml.token_type");
  const gguf::Value* merges = file.find("tokenizer.ggml.merges");
  auto spec = std::make_shared<text::BpeSpec>(text::BpeSpec::gemma_defaults());
  spec->source = file.path();
  spec->unk_token.clear();
  text::PreTokenizerStep split;
  split.kind = text::PreTokenizerStep::Kind::Split;
  split.pattern = " ";
  split.behavior = text::PreTokenizerStep::Behavior::MergedWithPrevious;
  spec->pre_tokenizer.push_back(split);
  std::unordered_set<std::string_view> seen;  // a piece listed twice keeps its first id
  spec->vocab.reserve(tokens->strings.size());
  for (size_t id = 0; id < tokens->strings.size(); ++id) {
    const std::string& piece = tokens->strings[id];
    if (seen.insert(piece).second) spec->vocab.emplace_back(piece, static_cast<int32_t>(id));
    int64_t type = kNormal;
    if (types && types->is_array() && id < types->ints.size()) type = types->ints[id];
    if (type == kControl || type == kUserDefined || type == kUnknown) {
      text::AddedTokenSpec added;
      added.id = static_cast<int32_t>(id);
      added.content = piece;
      added.special = type != kUserDefined;
      spec->added_tokens.push_back(added);
    }
    if (type == kUnknown && spec->unk_token.empty()) spec->unk_token = piece;
  }
  if (merges && merges->is_array()) {
    // A merge whose result is not a token can never apply (llama.cpp keeps it in its rank table to no
    // effect); such placeholders stand in files whose vocabulary has no merges (gguf-py cannot write an
    // empty list), and are left out here as a tokenizer.json could not hold them.
    std::unordered_set<std::string_view> pieces(tokens->strings.begin(), tokens->strings.end());
    spec->merges.reserve(merges->strings.size());
    for (const std::string& m : merges->strings) {
      const size_t at = m.find(' ', 1);  // as llama.cpp splits them
      if (at == std::string::npos) continue;
      std::string left = m.substr(0, at), right = m.substr(at + 1);
      if (!pieces.count(left + right)) continue;
      spec->merges.emplace_back(std::move(left), std::move(right));
    }
  }
  return spec;
}

namespace {

struct GgufVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
};

bool is_byte_token(const std::string& piece) {
  return piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece[5] == '>' && std::isxdigit(piece[3]) &&
         std::isxdigit(piece[4]);
}

// The GGUF vocabulary of a BPE tokenizer, as llama.cpp's converter (LlamaHfVocab + Gemma4Model.set_vocab)
// makes it from tokenizer.json: one token per embedding row, byte pieces typed BYTE, added tokens CONTROL
// (USER_DEFINED for those llama.cpp keeps visible in text), rows the tokenizer does not name filled.
GgufVocab vocab_from_bpe_spec(const text::BpeSpec& spec, const std::string& where, int64_t vocab_size) {
  GgufVocab v;
  std::vector<std::string> by_id(static_cast<size_t>(vocab_size));
  std::vector<int32_t> types(static_cast<size_t>(vocab_size), kUnused);
  std::vector<bool> set(static_cast<size_t>(vocab_size), false);
  auto place = [&](int64_t id, const std::string& piece, int32_t type) {
    if (id < 0 || id >= vocab_size) {
      throw Error(where + ": token '" + piece + "' has id " + std::to_string(id) + ", outside the model's vocabulary of " +
                  std::to_string(vocab_size));
    }
    by_id[id] = piece;
    types[id] = type;
    set[id] = true;
  };
  for (const auto& [piece, id] : spec.vocab) place(id, piece, is_byte_token(piece) ? kByte : kNormal);
  static const std::set<std::string> visible = {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                                                "<|tool_response>", "<tool_response|>", "<|\"|>"};
  for (const auto& added : spec.added_tokens) {
    if (added.id >= vocab_size) continue;  // added tokens without an embedding row (Gemma 3's <image_soft_token>)
    place(added.id, added.content, added.special && !visible.count(added.content) ? kControl : kUserDefined);
  }
  for (int64_t id = 0; id < vocab_size; ++id) {
    if (!set[id]) by_id[id] = "<gemma4cpp_unused" + std::to_string(id) + ">";  // rows beyond the tokenizer
  }
  v.tokens = std::move(by_id);
  v.types = std::move(types);
  v.scores.assign(v.tokens.size(), -1000.0f);
  v.merges.reserve(spec.merges.size());
  for (const auto& [left, right] : spec.merges) v.merges.push_back(left + " " + right);
  return v;
}

// The vocabulary, added tokens and merges of a tokenizer.json text (only what the GGUF vocabulary needs).
text::BpeSpec vocab_lists_from_tokenizer_json(const std::string& text, const std::string& where) {
  json j = parse_json(text, where);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || j["model"].value("type", "") != "BPE" ||
      !j["model"].contains("vocab") || !j["model"]["vocab"].is_object()) {
    throw Error(where + ": only BPE tokenizer.json files (as Gemma 4 ships them) can be written to GGUF");
  }
  text::BpeSpec spec;
  try {
    for (const auto& [piece, id] : j["model"]["vocab"].items()) spec.vocab.emplace_back(piece, id.get<int32_t>());
    for (const auto& t : j.value("added_tokens", json::array())) {
      text::AddedTokenSpec added;
      added.content = t.value("content", "");
      added.special = t.value("special", false);
      added.id = t.value("id", int32_t{-1});
      spec.added_tokens.push_back(added);
    }
    for (const auto& m : j["model"].value("merges", json::array())) {
      if (m.is_string()) {
        const std::string merge = m.get<std::string>();
        const size_t at = merge.find(' ', 1);
        if (at != std::string::npos) spec.merges.emplace_back(merge.substr(0, at), merge.substr(at + 1));
      } else if (m.is_array() && m.size() == 2) {
        spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      }
    }
  } catch (const json::exception& e) {
    throw Error(where + ": malformed vocabulary (" + e.what() + ")");
  }
  return spec;
}

// A vocabulary for checkpoints without a tokenizer: control tokens 0-3, byte tokens, a few pieces with merges,
// then fillers, exactly vocab_size entries (llama.cpp needs as many tokens as embedding rows).
GgufVocab synthesized_vocab(int64_t vocab_size) {
  GgufVocab v;
  auto add = [&](const std::string& piece, int32_t type) {
    if (static_cast<int64_t>(v.tokens.size()) < vocab_size) {
      v.tokens.push_back(piece);
      v.types.push_back(type);
    }
  };
  add("<pad>", kControl);
  add("<eos>", kControl);
  add("<bos>", kControl);
  add("<unk>", kUnknown);
  char byte[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(byte, sizeof byte, "<0x%02X>", b);
    add(byte, kByte);
  }
  const std::string space = "\xe2\x96\x81";
  add(space, kNormal);
  for (char ch = 'a'; ch <= 'z'; ++ch) add(std::string(1, ch), kNormal);
  for (char ch = 'a'; ch <= 'z'; ++ch) {
    if (static_cast<int64_t>(v.tokens.size()) < vocab_size) v.merges.push_back(space + " " + std::string(1, ch));
    add(space + std::string(1, ch), kNormal);
  }
  for (int64_t i = 0; static_cast<int64_t>(v.tokens.size()) < vocab_size; ++i) add("<unused" + std::to_string(i) + ">", kUnused);
  if (v.merges.empty()) v.merges.push_back("<pad> <pad>");  // llama.cpp requires the key to be present
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] != kControl && v.types[i] != kUnknown) v.scores[i] = -static_cast<float>(i);
  }
  return v;
}

int32_t find_piece(const GgufVocab& v, const std::string& piece, int32_t fallback) {
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i] == piece) return static_cast<int32_t>(i);
  }
  return fallback;
}

}  // namespace

DType gguf_storage_type(const std::string& name, const Shape& shape, DType requested) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (shape.size() <= 1 || ends_with("_norm.weight") || !ends_with(".weight") || ends_with("ffn_gate_inp.weight")) {
    return DType::F32;
  }
  if ((requested == DType::Q8_0 || requested == DType::Q4_0) && shape.back() % 32 != 0) return DType::F16;
  return requested;
}

void write_gguf_model(const std::string& path, const Checkpoint& model, DType type) {
  const Gemma4Config& c = model.config;
  auto refuse = [&](const std::string& what) {
    return Error("cannot write '" + path + "' as GGUF: " + what + " (llama.cpp's gemma4 has no such setting)");
  };
  if (type != DType::F32 && type != DType::F16 && type != DType::BF16 && type != DType::Q8_0 && type != DType::Q4_0) {
    throw Error(std::string("GGUF output type must be f32, f16, bf16, q8_0 or q4_0 (got ") + dtype_name(type) + ")");
  }
  if (c.is_embedding_model) throw refuse("embedding models (pooling head)");
  if (c.attention_logit_soft_cap) throw refuse("attention_logit_soft_cap");
  if (c.use_bidirectional_attention) throw refuse("use_bidirectional_attention");
  if (c.local_rope_scaling_factor != 1.0 || c.global_rope_scaling_factor != 1.0) throw refuse("RoPE scaling factors");

  gguf::GgufWriter w;
  w.add_string("general.architecture", kArch);
  w.add_string("general.name", "gemma4");
  if (!c.dtype.empty()) w.add_string(kComputeDtypeKey, c.dtype);
  const uint32_t file_type = type == DType::F32 ? 0 : type == DType::F16 ? 1 : type == DType::Q8_0 ? 7
                                                 : type == DType::Q4_0 ? 2 : 32;
  w.add_u32("general.file_type", file_type);
  w.add_u32("general.quantization_version", 2);
  const auto L = c.num_layers;
  const int64_t ghd = c.global_head_dim.value_or(c.head_dim);
  Gemma4Config plain = c;  // KerasHub's None wavelengths written as the values they stand for
  plain.global_rope_wavelength = c.global_rope_wavelength.value_or(1e6);
  plain.local_rope_wavelength = c.local_rope_wavelength.value_or(1e4);
  write_plain_fields(w, plain);
  std::vector<int32_t> ffn, kv;
  std::vector<bool> sliding;
  for (int64_t l = 0; l < L; ++l) {
    ffn.push_back(static_cast<int32_t>(c.ffn_width(l)));
    kv.push_back(static_cast<int32_t>(c.layer_kv_heads(l)));
    sliding.push_back(!c.is_global(l));
  }
  auto uniform = [](const std::vector<int32_t>& v) { return std::equal(v.begin() + 1, v.end(), v.begin()); };
  if (uniform(ffn)) w.add_u32(key("feed_forward_length"), ffn[0]); else w.add_i32_array(key("feed_forward_length"), ffn);
  if (uniform(kv)) w.add_u32(key("attention.head_count_kv"), kv[0]); else w.add_i32_array(key("attention.head_count_kv"), kv);
  w.add_u32(key("attention.key_length"), static_cast<uint32_t>(ghd));
  w.add_u32(key("attention.value_length"), static_cast<uint32_t>(ghd));
  w.add_u32(key("attention.key_length_swa"), static_cast<uint32_t>(c.head_dim));
  w.add_u32(key("attention.value_length_swa"), static_cast<uint32_t>(c.head_dim));
  w.add_bool_array(key("attention.sliding_window_pattern"), sliding);
  w.add_u32(key("rope.dimension_count"), static_cast<uint32_t>(ghd));
  w.add_u32(key("rope.dimension_count_swa"), static_cast<uint32_t>(c.head_dim));
  if (c.enable_moe_block) {
    w.add_u32(key("expert_count"), static_cast<uint32_t>(*c.num_experts));
    w.add_u32(key("expert_used_count"), static_cast<uint32_t>(c.num_experts_per_token));
    w.add_u32(key("expert_feed_forward_length"), static_cast<uint32_t>(*c.expert_intermediate_dim));
  }

  // Tokenizer.
  GgufVocab vocab;
  const std::string& tokenizer_file = model.tokenizer.file;
  if (model.tokenizer.bpe) {
    vocab = vocab_from_bpe_spec(*model.tokenizer.bpe, model.tokenizer.bpe->source, c.vocabulary_size);
  } else if (tokenizer_file.size() >= 5 && tokenizer_file.compare(tokenizer_file.size() - 5, 5, ".json") == 0) {
    vocab = vocab_from_bpe_spec(vocab_lists_from_tokenizer_json(read_file(tokenizer_file), tokenizer_file),
                                tokenizer_file, c.vocabulary_size);
  } else {
    vocab = synthesized_vocab(c.vocabulary_size);
  }
  w.add_string("tokenizer.ggml.model", "gemma4");
  w.add_string_array("tokenizer.ggml.tokens", vocab.tokens);
  w.add_f32_array("tokenizer.ggml.scores", vocab.scores);
  w.add_i32_array("tokenizer.ggml.token_type", vocab.types);
  w.add_string_array("tokenizer.ggml.merges", vocab.merges);
  w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(find_piece(vocab, "<bos>", static_cast<int32_t>(c.bos_token_id))));
  w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_ids.empty() ? 1 : c.eos_token_ids[0]));
  const int32_t unk = find_piece(vocab, "<unk>", -1);
  if (unk >= 0) w.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(unk));
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_bool("tokenizer.ggml.add_space_prefix", false);

  // Tensors: globals, rope_freqs, then each layer (expected_text_tensors' order).
  const WeightSource& weights = *model.weights;
  auto add_converted = [&](const std::string& gguf_name, const std::string& name, const TensorView& view,
                           TensorRole role) {
    Shape shape = view.shape;
    if (role == TensorRole::kScalar) shape = {1};
    const DType target = gguf_storage_type(gguf_name, shape, type);
    w.add_tensor(gguf_name, target, shape, [view, target, name](std::vector<uint8_t>& out) {
      if (view.dtype == target) {
        out.assign(view.data, view.data + view.nbytes);
        return;
      }
      const int64_t cols = view.cols(), rows = view.numel() / std::max<int64_t>(cols, 1);
      const size_t row_bytes = dtype_row_bytes(target, cols);
      out.resize(row_bytes * static_cast<size_t>(rows));
      std::vector<float> row(static_cast<size_t>(cols));
      const size_t src_row_bytes = dtype_row_bytes(view.dtype, cols);
      for (int64_t r = 0; r < rows; ++r) {
        kernels::dequantize(view.dtype, view.data + r * src_row_bytes, cols, row.data());
        encode_row(target, row.data(), cols, out.data() + r * row_bytes);
      }
    });
  };
  bool rope_written = false;
  auto write_rope_freqs = [&] {
    if (rope_written) return;
    rope_written = true;
    int64_t full = -1;
    for (int64_t l = 0; l < L && full < 0; ++l) {
      if (c.is_global(l)) full = l;
    }
    if (full < 0) return;
    const int64_t rotated = c.rope_pairs(full);
    std::vector<float> freqs(static_cast<size_t>(ghd / 2), 1e30f);
    for (int64_t i = 0; i < rotated; ++i) freqs[i] = 1.0f;
    w.add_tensor("rope_freqs.weight", DType::F32, {ghd / 2}, [freqs](std::vector<uint8_t>& out) {
      out.resize(freqs.size() * 4);
      std::memcpy(out.data(), freqs.data(), out.size());
    });
  };
  for (const auto& expected : expected_text_tensors(c)) {
    if (expected.name.rfind("layers.", 0) == 0) write_rope_freqs();
    const SourceTensor* tensor = weights.find(expected.name);
    if (tensor == nullptr) {
      throw Error("cannot write '" + path + "': tensor '" + expected.name + "' is missing from " + weights.description);
    }
    const bool scalar_ok = expected.role == TensorRole::kScalar && tensor->view.numel() == 1;
    if (tensor->view.shape != expected.shape && !scalar_ok) {
      throw Error("cannot write '" + path + "': tensor '" + expected.name + "' has shape " +
                  shape_to_string(tensor->view.shape) + " but the config needs " + shape_to_string(expected.shape));
    }
    add_converted(expected.gguf_name, expected.name, tensor->view, expected.role);
  }
  write_rope_freqs();
  if (const SourceTensor* head = weights.find("lm_head.weight")) {
    add_converted("output.weight", "lm_head.weight", head->view, TensorRole::kMatrix);
  }
  w.write(path);
}

}  // namespace gemma4
