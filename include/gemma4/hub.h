// Downloading models from the Hugging Face hub, Kaggle and ModelScope into the caches their own Python
// clients use (huggingface_hub, kagglehub, modelscope), so files are shared with those tools. Every loader
// (Backbone::load, CausalLM::load, from_preset, the CLI's --model) downloads what is not cached unless
// LoadOptions::allow_download is false or HF_HUB_OFFLINE=1. docs/downloads.md describes the protocols.
//
//   std::string path = gemma4::download_model("hf://google/gemma-4-E2B-it");
//   std::string gguf = gemma4::download_model("hf://someone/gemma-4-GGUF", {.quant = "Q4_K_M"});
#pragma once

#include <gemma4/progress.h>

#include <string>
#include <vector>

namespace gemma4 {

struct DownloadOptions {
  // Hugging Face / ModelScope: a branch, tag or commit; overrides an @revision in the handle. "" = main / master.
  std::string revision;
  // Glob patterns (fnmatch) choosing the files; empty: the files a model needs (configs, tokenizer, chat
  // template, safetensors shards and index, processor configs; for a repository of GGUF files, the one GGUF).
  std::vector<std::string> include;
  // A GGUF repository's quantization, e.g. "Q4_K_M" (matched in the file names, case-insensitive).
  std::string quant;
  // Cache only: nothing is requested from a hub (also when HF_HUB_OFFLINE=1).
  bool offline = false;
  ProgressCallback progress;  // bytes of each file
};

// hf://owner/repo[@revision][:QUANT], kaggle://owner/model/framework/variation[/version],
// modelscope://owner/repo[@revision] or a built-in preset name -> the local folder (or GGUF file), downloaded
// into the cache when missing. Throws gemma4::Error naming the URL, HTTP status and file when a request fails.
std::string download_model(const std::string& handle, const DownloadOptions& options = {});

// Whether `name` is a handle or preset name download_model accepts (not a local path).
bool is_model_handle(const std::string& name);

}  // namespace gemma4
