// Sampling and context options shared by `generate` and `chat`.
#pragma once

#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <CLI/CLI.hpp>

#include "progress_bar.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace gemma4::cli {

// A JSON file holding a list of tool declarations ({"type": "function", "function": {...}}) -> each as JSON text.
std::vector<std::string> read_tool_list(const std::string& path);

inline void add_draft_options(CLI::App* app, std::string& draft, int64_t& draft_max) {
  app->add_option("--draft", draft,
                  "Speculative decoding: 'lookup' (prompt lookup: copy n-grams of the context), 'auto' (an "
                  "*assistant* drafter beside the model, else none), or a drafter model");
  app->add_option("--draft-max", draft_max, "Tokens drafted per verification step (default 4)");
}

// --draft and --draft-max -> the generation's DraftConfig (the library refuses what it cannot run).
inline DraftConfig draft_config(const std::string& draft, int64_t draft_max, const std::string& model) {
  DraftConfig config;
  config.max_draft = draft_max;
  if (draft_max < 1) throw Error("--draft-max must be at least 1 (got " + std::to_string(draft_max) + ")");
  if (draft.empty() || draft == "none") return config;
  if (draft == "lookup") {
    config.kind = DraftConfig::Kind::kPromptLookup;
    return config;
  }
  std::string drafter = draft;
  if (draft == "auto") {
    drafter.clear();
    std::error_code error;
    std::filesystem::path self = std::filesystem::path(model).lexically_normal();
    if (self.filename().empty()) self = self.parent_path();  // "folder/" names the folder
    const std::filesystem::path beside = self.parent_path();
    if (!beside.empty() && std::filesystem::is_directory(beside, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(beside, error)) {
        const std::string name = entry.path().filename().string();
        if (name.find("assistant") != std::string::npos && entry.path().lexically_normal() != self) {
          drafter = entry.path().string();
          break;
        }
      }
    }
    if (drafter.empty()) return config;  // no drafter beside the model: plain decoding
  }
  throw Error("--draft " + draft + ": assistant (MTP) drafter models (" + drafter +
              ") are not supported yet; use --draft lookup");
}

inline void print_draft_stats(const GenerationResult& result) {
  if (result.draft_steps == 0) return;
  std::fprintf(stderr, "[draft: %lld steps, %lld drafted, %lld accepted (%.1f%%)]\n",
               static_cast<long long>(result.draft_steps), static_cast<long long>(result.drafted_tokens),
               static_cast<long long>(result.accepted_tokens),
               result.drafted_tokens > 0 ? 100.0 * result.accepted_tokens / result.drafted_tokens : 0.0);
}

struct GenerationOptions {
  std::string model;
  int64_t max_tokens = 256;
  float temperature = 1.0f;
  int top_k = 64;
  float top_p = 0.95f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool greedy = false;
  std::vector<std::string> stop;
  int64_t context = 4096;
  std::string kv_type = "bf16";  // KV cache storage (gemma4/kv_type.h)
  int threads = 0;
  std::vector<std::string> lora;  // LoRA adapters merged on load
  std::string mmproj;             // llama.cpp projector file ("" = the one mmproj*.gguf beside a GGUF model)
  std::string chat_template;      // a template file used instead of the model's own
  std::string tools;              // a JSON file: the list of tool declarations offered to the model
  bool thinking = false;
  bool show_thinking = false;
  bool offline = false;  // caches only: nothing is downloaded
  bool quiet = false;    // no progress bar
  std::string draft;          // speculative decoding: "lookup", "auto", a drafter model, or "" (none)
  int64_t draft_max = 4;      // tokens drafted per step

  void add_to(CLI::App* app) {
    app->add_option("--model", model, "Model folder, GGUF file, preset name, hf:// / kaggle:// / modelscope:// handle (downloaded when not "
                    "cached), builtin:small (trained here, docs/builtin_small.md) or builtin:tiny (random weights)")->required();
    app->add_option("--max-tokens", max_tokens, "Most tokens to generate");
    app->add_option("--temperature", temperature, "Sampling temperature (0 = greedy)");
    app->add_option("--top-k", top_k, "Keep the k most likely tokens (0 = all)");
    app->add_option("--top-p", top_p, "Keep the smallest set with this much probability (1 = all)");
    app->add_option("--min-p", min_p, "Drop tokens below min-p x the top probability");
    app->add_option("--repetition-penalty", repetition_penalty, "Penalty for tokens already in the context (1 = none)");
    app->add_option("--seed", seed, "Random seed");
    app->add_flag("--greedy", greedy, "Always pick the most likely token");
    app->add_option("--stop", stop, "Stop before this string (repeatable)");
    app->add_option("--context", context, "Context length (KV cache positions)");
    app->add_option("--kv-type", kv_type, "KV cache storage: f32, bf16 (default) or q8_0 (attention sums in float32)");
    app->add_option("--threads", threads, "Worker threads (default: all cores)");
    app->add_option("--mmproj", mmproj,
                    "llama.cpp projector file (mmproj-*.gguf) with the vision/audio encoders; default: the one "
                    "mmproj*.gguf beside a GGUF model, if exactly one; 'none' for text only");
    app->add_option("--lora", lora, "LoRA adapter merged on load: PEFT folder or KerasHub .lora.h5 (repeatable)");
    app->add_option("--chat-template", chat_template,
                    "Chat template file (.jinja, or a tokenizer_config.json) instead of the model's own");
    app->add_option("--tools", tools, "A JSON file with the list of tools the model may call (OpenAI shape)");
    app->add_flag("--thinking", thinking, "Let the model think before answering (enable_thinking)");
    app->add_flag("--show-thinking", show_thinking, "Print the model's thinking to stderr");
    app->add_flag("--offline", offline, "Use the local caches only; never download the model (as HF_HUB_OFFLINE=1)");
    app->add_flag("--quiet", quiet, "No progress bar on stderr");
    add_draft_options(app, draft, draft_max);
  }

  CausalLM::Options lm_options() const {
    CausalLM::Options options;
    options.max_context = context;
    options.kv_type = parse_kv_type(kv_type);
    options.lora_adapters = lora;
    options.chat_template_file = chat_template;
    options.mmproj = mmproj;
    options.threads = threads;
    options.allow_download = !offline;
    options.progress = stderr_progress(quiet);
    return options;
  }

  // The chat template's options: the model's <bos>/<eos>, thinking, and the tools of --tools.
  ChatTemplateOptions template_options(const CausalLM& lm) const {
    ChatTemplateOptions options = lm.chat_template_options();
    options.enable_thinking = thinking;
    if (!tools.empty()) options.tools = read_tool_list(tools);
    return options;
  }

  GenerationConfig generation_config() const {
    GenerationConfig config;
    config.max_new_tokens = max_tokens;
    config.sampling.temperature = greedy ? 0.0f : temperature;
    config.sampling.top_k = top_k;
    config.sampling.top_p = top_p;
    config.sampling.min_p = min_p;
    config.sampling.repetition_penalty = repetition_penalty;
    config.sampling.seed = seed;
    config.stop_strings = stop;
    config.draft = draft_config(draft, draft_max, model);
    return config;
  }
};

}  // namespace gemma4::cli
