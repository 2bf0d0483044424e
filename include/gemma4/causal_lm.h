// Gemma4CausalLM: the backbone, a tokenizer, a KV cache and samplers -> streamed text.
#pragma once

#include <gemma4/backbone.h>
#include <gemma4/chat_template.h>
#include <gemma4/image.h>
#include <gemma4/kv_type.h>
#include <gemma4/tokenizer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {

struct SamplingConfig {
  float temperature = 1.0f;         // 0 picks the most likely token (greedy)
  int top_k = 64;                   // 0 = no limit
  float top_p = 0.95f;              // 1 = no limit
  float min_p = 0.0f;               // 0 = no limit
  float repetition_penalty = 1.0f;  // 1 = none; >1 discourages tokens already in the context
  uint64_t seed = 0;

  // Released instruct models' generation_config: sampling, temperature 1, top-k 64, top-p 0.95.
  static SamplingConfig instruct_default() { return {}; }
  static SamplingConfig greedy() { return {0.0f, 0, 1.0f, 0.0f, 1.0f, 0}; }
};

// Speculative decoding: cheap guesses of the next tokens, checked by the model in one batched pass. The tokens
// produced are those plain decoding gives (greedy) or follow the same distribution (sampling).
struct DraftConfig {
  enum class Kind { kNone, kPromptLookup, kAssistant, kCustom };
  Kind kind = Kind::kNone;
  // kCustom: the caller's drafter, given the context (prompt and tokens so far) and the most tokens wanted;
  // its drafts count as point masses (as prompt lookup's).
  std::function<std::vector<int32_t>(const std::vector<int32_t>& context, int64_t max_tokens)> custom;
  int64_t max_draft = 4;  // K: tokens drafted per step (--draft-max)
  int max_ngram = 3;      // prompt lookup: suffix lengths tried, longest first
  int min_ngram = 1;
};

struct GenerationConfig {
  int64_t max_new_tokens = 256;
  DraftConfig draft;
  SamplingConfig sampling;
  std::vector<int32_t> stop_token_ids;    // empty: the tokenizer's (<eos>, <turn|>, ...) or the config's eos ids
  std::vector<std::string> stop_strings;  // generation ends before the first occurrence of any of these
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids (a stop token is included when it ended generation)
  std::string text;             // decoded text, without stop tokens and cut before a stop string
  std::string stop_reason;      // "stop_token", "stop_string", "max_tokens", "context_full", "callback"
  int64_t prompt_tokens = 0;    // prompt tokens actually run (a reused cached prefix is not counted)
  double prompt_seconds = 0;
  double generation_seconds = 0;
  // Speculative decoding (GenerationConfig::draft): verification passes, tokens drafted, drafts accepted.
  int64_t draft_steps = 0;
  int64_t drafted_tokens = 0;
  int64_t accepted_tokens = 0;
};

// Called with each new token id and the text that became complete with it (may be empty).
// Return false to stop.
using TokenCallback = std::function<bool(int32_t token, const std::string& text)>;

class TextModel;
class KvCache;

class CausalLM {
 public:
  // How the model is loaded (LoRA adapters, dtype, quantize-on-load, threads: gemma4/load_options.h), and
  // how it generates.
  struct Options : LoadOptions {
    int64_t max_context = 4096;  // positions the KV cache holds
    int64_t prefill_chunk = 256; // prompt tokens run per step
    KvType kv_type = KvType::kBf16;  // how the KV cache stores keys and values (attention sums in float32)
    // A chat template file (.jinja, or a tokenizer_config.json) used instead of the model's own.
    std::string chat_template_file;
  };

  // Any model Backbone::load accepts, with the tokenizer that comes with it (if any).
  static std::unique_ptr<CausalLM> load(const std::string& model_path, const Options& options);
  CausalLM(std::unique_ptr<Backbone> backbone, std::unique_ptr<Tokenizer> tokenizer, const Options& options);
  ~CausalLM();

  const Gemma4Config& config() const { return backbone_->config(); }
  const Backbone& backbone() const { return *backbone_; }
  // Null when the model came without a tokenizer (then only token ids work).
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // The chat template prompts are rendered with: Options::chat_template_file, else the model's own (from
  // chat_template.jinja, tokenizer_config.json or GGUF metadata), else the built-in one for its architecture.
  const ChatTemplate& chat_template() const { return chat_template_; }
  void set_chat_template(ChatTemplate chat_template) { chat_template_ = std::move(chat_template); }
  // Whether plain text prompts (generate --raw, /v1/completions) go behind <bos>: the tokenizer's
  // add_bos_token (GGUF, tokenizer_config.json), true when the model does not say (Gemma's tokenizers do).
  bool adds_bos() const { return adds_bos_; }
  void set_adds_bos(bool adds_bos) { adds_bos_ = adds_bos; }
  // The chat template's options that follow from this model's tokenizer (its <bos> and <eos> text).
  ChatTemplateOptions chat_template_options() const;

  // Runs the prompt (reusing the cached prefix it shares with what was run before), then samples
  // until a stop condition. Throws gemma4::Error if the prompt does not fit the context.
  GenerationResult generate(const std::vector<int32_t>& prompt, const GenerationConfig& config,
                            const TokenCallback& on_token = {});
  GenerationResult generate(const std::string& prompt_text, const GenerationConfig& config,
                            const TokenCallback& on_token = {});

  // Prompts with images and audio clips (models with those encoders). Convert images with
  // image_to_patches(image, backbone().image_converter_options()) and audio with log_mel_features.
  // The token prompt holds, for each image / clip in order, a run of its placeholder id (<|image|> /
  // <|audio|>, taken from the tokenizer unless given) exactly as long as its soft tokens
  // (ImagePatches::soft_tokens, Backbone::audio_tokens). As in KerasHub's generation, attention stays
  // causal inside images.
  struct Media {
    std::vector<ImagePatches> images;
    std::vector<AudioFeatures> audio;
    int32_t image_placeholder = -1;
    int32_t audio_placeholder = -1;
  };
  GenerationResult generate(const std::vector<int32_t>& prompt, const Media& media, const GenerationConfig& config,
                            const TokenCallback& on_token = {});
  // Text with one <|image|> / <|audio|> written per item -> token ids with each expanded to <|image>,
  // one <|image|> per soft token, <image|> (<|audio>, <|audio|>..., <audio|>), as KerasHub's and HF's
  // processors lay prompts out.
  std::vector<int32_t> tokenize_with_media(const std::string& prompt_text, const Media& media) const;

  // Low-level access for tests and tools: feed tokens, get the last position's logits.
  std::vector<float> feed(const std::vector<int32_t>& tokens);
  void reset();
  int64_t cached_tokens() const;

 private:
  std::vector<int32_t> resolve_stop_ids(const GenerationConfig& config) const;
  // Runs [token, drafts...] through the model in one chunk appended to the cache; logits of every row.
  std::vector<float> verify_rows(int32_t token, const std::vector<int32_t>& drafts);
  // Cuts the cache and history back to `length` positions (rejected drafts).
  void roll_back(int64_t length);
  // feed() of `count` tokens with optional embedding rows replacing the tokens' own where mask is set
  // (image / audio soft tokens); `keys` are what the cache records for prefix reuse (soft-token positions
  // get unique negative keys).
  std::vector<float> feed_rows(const int32_t* tokens, size_t count, const float* rows, const uint8_t* mask,
                               const int32_t* keys);

  std::unique_ptr<Backbone> backbone_;
  std::unique_ptr<Tokenizer> tokenizer_;
  Options options_;
  ChatTemplate chat_template_;
  bool adds_bos_ = true;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> history_;  // ids whose keys/values are in the cache (negative: an image position)
  int32_t next_media_key_ = -1;   // never reused: no later prompt matches an earlier image's or clip's positions
};

}  // namespace gemma4
