// gemma4 pull: download a model from the Hugging Face hub, Kaggle or ModelScope into the shared caches and
// print where it is (the path every --model also accepts).
//
//   gemma4 pull hf://google/gemma-4-E2B-it
//   gemma4 pull hf://someone/gemma-4-E2B-it-GGUF --quant Q4_K_M
//   gemma4 pull kaggle://keras/gemma4/keras/gemma4_instruct_2b
#include <gemma4/error.h>
#include <gemma4/hub.h>

#include <cstdio>
#include <string>
#include <vector>

#include "command_registry.h"
#include "progress_bar.h"

namespace {

struct PullArgs {
  std::string handle;
  gemma4::DownloadOptions options;
  bool quiet = false;
};

}  // namespace

GEMMA4_REGISTER_COMMAND(pull, [](CLI::App& app) {
  auto args = std::make_shared<PullArgs>();
  auto* sub = app.add_subcommand("pull", "Download a model (hf://, kaggle://, modelscope:// or a preset name) into "
                                         "the local caches and print its path");
  sub->add_option("handle", args->handle,
                  "hf://owner/repo[@revision][:QUANT], kaggle://owner/model/framework/variation[/version], "
                  "modelscope://owner/repo or a preset name")
      ->required();
  sub->add_option("--include", args->options.include,
                  "Only the files matching this glob pattern (repeatable); default: what the model needs");
  sub->add_option("--quant", args->options.quant, "For a repository of GGUF files: the quantization, e.g. Q4_K_M");
  sub->add_option("--revision", args->options.revision, "A branch, tag or commit (Hugging Face, ModelScope)");
  sub->add_flag("--offline", args->options.offline, "Use the caches only (as HF_HUB_OFFLINE=1)");
  sub->add_flag("--quiet", args->quiet, "No progress bar");
  sub->callback([args] {
    if (!gemma4::is_model_handle(args->handle)) {
      throw gemma4::Error("'" + args->handle + "' is not a model handle (hf://owner/repo, "
                          "kaggle://owner/model/framework/variation[/version], modelscope://owner/repo) or preset name");
    }
    args->options.progress = gemma4::cli::stderr_progress(args->quiet);
    std::printf("%s\n", gemma4::download_model(args->handle, args->options).c_str());
  });
});
