#include <gemma4/causal_lm.h>
#include <gemma4/error.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "generate/prompt_lookup.h"
#include "generate/sampler.h"
#include "generate/speculative.h"
#include "generate/text_stream.h"
#include "model/backbone_parts.h"
#include "model/kv_cache.h"
#include "text/tokenizer_internal.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CausalLM::CausalLM(std::unique_ptr<Backbone> backbone, std::unique_ptr<Tokenizer> tokenizer, const Options& options)
    : backbone_(std::move(backbone)),
      tokenizer_(std::move(tokenizer)),
      options_(options),
      chat_template_(ChatTemplate::builtin_for(backbone_->config())) {
  if (options_.max_context <= 0) throw Error("max_context must be positive");
  if (options_.prefill_chunk <= 0) throw Error("prefill_chunk must be positive");
  if (config().use_bidirectional_attention) {
    throw Error("this model uses bidirectional attention (an embedding model); it cannot generate text");
  }
  options_.prefill_chunk = std::min(options_.prefill_chunk, options_.max_context);
  reset();
}

ChatTemplateOptions CausalLM::chat_template_options() const {
  ChatTemplateOptions options;
  if (tokenizer_) {
    const SpecialTokenIds& ids = tokenizer_->special_ids();
    if (ids.bos >= 0) options.bos_token = tokenizer_->token_to_piece(ids.bos);
    if (ids.eos >= 0) options.eos_token = tokenizer_->token_to_piece(ids.eos);
  }
  return options;
}

CausalLM::~CausalLM() = default;

void CausalLM::reset() {
  cache_ = std::make_unique<KvCache>(config(), options_.max_context, options_.prefill_chunk, /*with_activations=*/true,
                                     options_.kv_type);
  history_.clear();
}

int64_t CausalLM::cached_tokens() const { return static_cast<int64_t>(history_.size()); }

std::vector<float> CausalLM::feed(const std::vector<int32_t>& tokens) {
  return feed_rows(tokens.data(), tokens.size(), nullptr, nullptr, tokens.data());
}

std::vector<float> CausalLM::feed_rows(const int32_t* tokens, size_t count, const float* rows, const uint8_t* mask,
                                       const int32_t* keys) {
  if (count == 0) throw Error("nothing to feed: the token list is empty");
  const int64_t needed = cache_->length() + static_cast<int64_t>(count);
  if (needed > options_.max_context) {
    throw Error("the prompt needs " + std::to_string(needed) + " positions but the context holds " +
                std::to_string(options_.max_context) + " (raise --context or shorten the prompt)");
  }
  const TextModel& model = text_model_of(*backbone_);
  const int64_t width = config().hidden_dim;
  // Only the last token's hidden state is needed: earlier chunks produce none, the last one a single row.
  float* hidden = cache_->activations().last_hidden.data();
  for (size_t offset = 0; offset < count; offset += static_cast<size_t>(options_.prefill_chunk)) {
    const size_t length = std::min(static_cast<size_t>(options_.prefill_chunk), count - offset);
    ChunkInput chunk;
    chunk.token_ids = tokens + offset;
    chunk.length = static_cast<int64_t>(length);
    if (rows != nullptr) {
      chunk.embedding_overrides = rows + offset * static_cast<size_t>(width);
      chunk.embedding_override_mask = mask + offset;
    }
    model.forward_chunk_tail(chunk, *cache_, offset + length == count ? 1 : 0, hidden);
    history_.insert(history_.end(), keys + offset, keys + offset + length);
    // Prompts of more than one chunk take a while: say how far they are.
    if (options_.progress && count > static_cast<size_t>(options_.prefill_chunk)) {
      options_.progress(Progress{"prefill", static_cast<int64_t>(offset + length), static_cast<int64_t>(count), "tokens"});
    }
  }
  std::vector<float> logits(static_cast<size_t>(config().vocabulary_size));
  model.logits(hidden, 1, logits.data());
  return logits;
}

std::vector<int32_t> CausalLM::tokenize_with_media(const std::string& prompt_text, const Media& media) const {
  if (!tokenizer_) throw Error("this model has no tokenizer; give the prompt as token ids");
  const SpecialTokenIds& ids = tokenizer_->special_ids();
  struct Kind {
    const char* name;
    int32_t start, placeholder, end;
    std::vector<int64_t> counts;  // soft tokens of each item
    size_t next = 0;
  };
  Kind image{"<|image|>", ids.image_start, ids.image, ids.image_end, {}};
  for (const auto& item : media.images) image.counts.push_back(item.soft_tokens);
  Kind audio{"<|audio|>", ids.audio_start, ids.audio, ids.audio_end, {}};
  for (const auto& clip : media.audio) audio.counts.push_back(Backbone::audio_tokens(clip));
  std::vector<int32_t> out;
  for (int32_t id : tokenizer_->encode(prompt_text)) {
    Kind* kind = id >= 0 && id == image.placeholder ? &image : id >= 0 && id == audio.placeholder ? &audio : nullptr;
    if (kind == nullptr) {
      out.push_back(id);
      continue;
    }
    if (kind->start < 0 || kind->end < 0) throw Error(std::string("the tokenizer lacks the delimiters of ") + kind->name);
    if (kind->next == kind->counts.size()) {
      throw Error(std::string("the prompt has more ") + kind->name + " placeholders than the " +
                  std::to_string(kind->counts.size()) + " items given");
    }
    out.push_back(kind->start);
    out.insert(out.end(), static_cast<size_t>(kind->counts[kind->next++]), kind->placeholder);
    out.push_back(kind->end);
  }
  for (const Kind* kind : {&image, &audio}) {
    if (kind->next != kind->counts.size()) {
      throw Error(std::to_string(kind->counts.size()) + " items given for " + kind->name + " but the prompt has " +
                  std::to_string(kind->next) + " such placeholders");
    }
  }
  return out;
}

std::vector<float> CausalLM::verify_rows(int32_t token, const std::vector<int32_t>& drafts) {
  std::vector<int32_t> chunk_ids{token};
  chunk_ids.insert(chunk_ids.end(), drafts.begin(), drafts.end());
  const int64_t rows = static_cast<int64_t>(chunk_ids.size());
  const TextModel& model = text_model_of(*backbone_);
  std::vector<float> hidden(static_cast<size_t>(rows * config().hidden_dim));
  ChunkInput chunk;
  chunk.token_ids = chunk_ids.data();
  chunk.length = rows;
  model.forward_chunk_tail(chunk, *cache_, rows, hidden.data());
  history_.insert(history_.end(), chunk_ids.begin(), chunk_ids.end());
  std::vector<float> logits(static_cast<size_t>(rows * config().vocabulary_size));
  model.logits(hidden.data(), rows, logits.data());
  return logits;
}

void CausalLM::roll_back(int64_t length) {
  cache_->truncate(length);
  history_.resize(static_cast<size_t>(length));
}

std::vector<int32_t> CausalLM::resolve_stop_ids(const GenerationConfig& config) const {
  if (!config.stop_token_ids.empty()) return config.stop_token_ids;
  if (tokenizer_) return tokenizer_->stop_ids();
  std::vector<int32_t> ids;
  for (int64_t id : this->config().eos_token_ids) ids.push_back(static_cast<int32_t>(id));
  return ids;
}

GenerationResult CausalLM::generate(const std::string& prompt_text, const GenerationConfig& config,
                                    const TokenCallback& on_token) {
  if (!tokenizer_) throw Error("this model has no tokenizer; give the prompt as token ids");
  return generate(tokenizer_->encode(prompt_text), config, on_token);
}

GenerationResult CausalLM::generate(const std::vector<int32_t>& prompt, const GenerationConfig& config,
                                    const TokenCallback& on_token) {
  return generate(prompt, Media{}, config, on_token);
}

GenerationResult CausalLM::generate(const std::vector<int32_t>& prompt, const Media& media,
                                    const GenerationConfig& config, const TokenCallback& on_token) {
  if (prompt.empty()) throw Error("the prompt is empty");
  if (config.max_new_tokens < 0) throw Error("max_new_tokens must be >= 0");
  for (const auto& stop : config.stop_strings) {
    if (stop.empty()) throw Error("stop strings must not be empty");
  }
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= this->config().vocabulary_size) {
      throw Error("prompt token " + std::to_string(prompt[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(this->config().vocabulary_size) + ")");
    }
  }
  if (static_cast<int64_t>(prompt.size()) > options_.max_context) {
    throw Error("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                std::to_string(options_.max_context) + " (raise --context or shorten the prompt)");
  }
  // Soft tokens: the k-th run of a placeholder takes the k-th item's embedding rows.
  const int64_t width = this->config().hidden_dim;
  std::vector<float> rows;
  std::vector<uint8_t> mask;
  std::vector<int32_t> keys = prompt;
  auto place = [&](const char* what, int32_t placeholder, const char* token, size_t items,
                   const std::function<std::vector<float>(size_t)>& embed, const std::function<int64_t(size_t)>& count) {
    if (items == 0) return;
    if (placeholder < 0) {
      throw Error(std::string(what) + " given but no placeholder id: the model has no tokenizer with " + token);
    }
    if (rows.empty()) {
      rows.assign(prompt.size() * static_cast<size_t>(width), 0.0f);
      mask.assign(prompt.size(), 0);
    }
    size_t item = 0;
    for (size_t i = 0; i < prompt.size();) {
      if (prompt[i] != placeholder) {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < prompt.size() && prompt[end] == placeholder) ++end;
      if (item == items) throw Error(std::string("the prompt has more ") + token + " runs than the " + what + " given");
      if (static_cast<int64_t>(end - i) != count(item)) {
        throw Error(std::string(what) + " item " + std::to_string(item + 1) + " makes " + std::to_string(count(item)) +
                    " soft tokens but its " + token + " run at position " + std::to_string(i) + " holds " +
                    std::to_string(end - i));
      }
      const std::vector<float> embedded = embed(item++);
      std::copy(embedded.begin(), embedded.end(), rows.begin() + static_cast<long>(i * static_cast<size_t>(width)));
      for (; i < end; ++i) {
        mask[i] = 1;
        keys[i] = next_media_key_--;
      }
    }
    if (item != items) {
      throw Error(std::to_string(items) + " " + what + " given but the prompt has " + std::to_string(item) + " " + token +
                  " runs");
    }
  };
  const SpecialTokenIds* special = tokenizer_ ? &tokenizer_->special_ids() : nullptr;
  place("images", media.image_placeholder >= 0 ? media.image_placeholder : special ? special->image : -1, "<|image|>",
        media.images.size(), [&](size_t k) { return backbone_->image_embeddings(media.images[k]); },
        [&](size_t k) { return media.images[k].soft_tokens; });
  place("audio clips", media.audio_placeholder >= 0 ? media.audio_placeholder : special ? special->audio : -1,
        "<|audio|>", media.audio.size(), [&](size_t k) { return backbone_->audio_embeddings(media.audio[k]); },
        [&](size_t k) { return Backbone::audio_tokens(media.audio[k]); });

  GenerationResult result;
  Sampler sampler(config.sampling);
  const std::vector<int32_t> stop_ids = resolve_stop_ids(config);

  // Reuse the cached prefix (multi-turn chat): run only what differs. At least one token must run.
  size_t shared = 0;
  while (shared < history_.size() && shared + 1 < keys.size() && history_[shared] == keys[shared]) ++shared;
  if (shared < history_.size()) {  // the prompt does not extend what is cached: start over
    reset();
    shared = 0;
  }
  const auto prompt_start = std::chrono::steady_clock::now();
  const size_t remaining = prompt.size() - shared;
  std::vector<float> logits =
      feed_rows(prompt.data() + shared, remaining, rows.empty() ? nullptr : rows.data() + shared * static_cast<size_t>(width),
                mask.empty() ? nullptr : mask.data() + shared, keys.data() + shared);
  result.prompt_tokens = static_cast<int64_t>(remaining);
  result.prompt_seconds = seconds_since(prompt_start);

  const auto generation_start = std::chrono::steady_clock::now();
  TextStream stream(tokenizer_.get(), config.stop_strings);
  std::vector<int32_t> context;  // what the repetition penalty sees: the cached tokens, images left out
  for (int32_t id : history_) {
    if (id >= 0) context.push_back(id);
  }
  result.stop_reason = "max_tokens";
  const DraftConfig& draft = config.draft;
  const bool drafting = draft.kind != DraftConfig::Kind::kNone;
  if (drafting && draft.max_draft < 1) throw Error("--draft-max must be at least 1");
  if (draft.kind == DraftConfig::Kind::kAssistant) {
    throw Error("assistant (MTP) drafters are not supported yet: use --draft lookup");
  }
  PromptLookupOptions lookup;
  lookup.max_ngram = draft.max_ngram;
  lookup.min_ngram = draft.min_ngram;
  SpeculativeVerifier verifier(config.sampling);
  const int64_t vocab = this->config().vocabulary_size;
  // The cache holds every emitted token but the last (as plain decoding leaves it); accepted drafts are in the
  // cache before they are emitted, so `queue` holds decided tokens still to emit.
  const size_t base = history_.size();
  std::vector<int32_t> queue;
  if (config.max_new_tokens > 0) {
    queue.push_back(drafting ? verifier.sample(logits.data(), vocab, context) : sampler.sample(logits, context));
  }
  size_t next = 0;
  int64_t produced = 0;
  while (config.max_new_tokens > 0) {
    const int32_t token = queue[next++];
    ++produced;
    result.tokens.push_back(token);
    context.push_back(token);
    if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
      result.stop_reason = "stop_token";
      break;
    }
    const std::string piece = stream.push(token);
    if (on_token && !on_token(token, piece)) {
      result.stop_reason = "callback";
      break;
    }
    if (stream.stopped()) {
      result.stop_reason = "stop_string";
      break;
    }
    if (produced == config.max_new_tokens) break;
    if (next < queue.size()) continue;  // an accepted draft: already in the cache
    if (cache_->length() + 1 > options_.max_context) {
      result.stop_reason = "context_full";
      break;
    }
    queue.clear();
    next = 0;
    // Drafts must fit what is left to produce, the context and one chunk of the cache (with `token`).
    const int64_t room = std::min({draft.max_draft, config.max_new_tokens - produced - 1,
                                   options_.max_context - cache_->length() - 1, cache_->max_chunk() - 1});
    DraftProposal proposal;
    if (drafting && room > 0) {
      if (draft.kind == DraftConfig::Kind::kPromptLookup) proposal.tokens = prompt_lookup_draft(context, room, lookup);
      if (draft.kind == DraftConfig::Kind::kCustom) {
        if (!draft.custom) throw Error("a custom drafter was asked for but none was given");
        proposal.tokens = draft.custom(context, room);
        if (static_cast<int64_t>(proposal.tokens.size()) > room) proposal.tokens.resize(static_cast<size_t>(room));
        for (int32_t id : proposal.tokens) {
          if (id < 0 || id >= vocab) throw Error("the drafter proposed token " + std::to_string(id) + ", outside the vocabulary");
        }
      }
    }
    if (proposal.tokens.empty()) {
      logits = feed({token});
      queue.push_back(drafting ? verifier.sample(logits.data(), vocab, context) : sampler.sample(logits, context));
      continue;
    }
    const int64_t before = cache_->length();
    const std::vector<float> rows = verify_rows(token, proposal.tokens);
    queue = verifier.verify(rows.data(), vocab, proposal, context);
    const int64_t accepted = static_cast<int64_t>(queue.size()) - 1;
    roll_back(before + 1 + accepted);  // keep `token` and the accepted drafts
    ++result.draft_steps;
    result.drafted_tokens += static_cast<int64_t>(proposal.tokens.size());
    result.accepted_tokens += accepted;
  }
  // Generation stopped at an accepted draft: forget the positions after it, as plain decoding never ran them.
  if (produced > 0 && history_.size() > base + static_cast<size_t>(produced) - 1) {
    roll_back(static_cast<int64_t>(base) + produced - 1);
  }
  const std::string rest = stream.finish();
  if (on_token && !rest.empty()) on_token(-1, rest);
  const std::string& text = stream.text();
  result.text = text;
  result.generation_seconds = seconds_since(generation_start);
  return result;
}

}  // namespace gemma4
