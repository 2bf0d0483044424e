// gemma4 convert: any checkpoint (Hugging Face folder, KerasHub preset, GGUF) to a GGUF file llama.cpp loads,
// or to a Hugging Face folder, so formats round-trip.
//
//   gemma4 convert --model SRC --out F.gguf [--type f32|bf16|f16|q8_0|q4_0]
//   gemma4 convert --model SRC --to hf DIR [--type f32|bf16|f16]
#include <gemma4/convert.h>
#include <gemma4/error.h>

#include <cstdio>
#include <string>
#include <vector>

#include "command_registry.h"
#include "progress_bar.h"

namespace {

struct ConvertArgs {
  std::string model;
  std::string out;
  std::vector<std::string> to;  // {"hf", DIR}
  std::string type;
  bool offline = false;
  bool quiet = false;
};

void run_convert(const ConvertArgs& args) {
  const bool to_hf = !args.to.empty();
  if (to_hf == !args.out.empty()) throw gemma4::Error("give either --out F.gguf or --to hf DIR");
  if (to_hf && (args.to.size() != 2 || args.to[0] != "hf")) {
    throw gemma4::Error("--to takes 'hf' and the output folder: --to hf DIR");
  }
  gemma4::ConvertOptions options;
  options.format = to_hf ? "hf" : "gguf";
  options.type = args.type;
  options.source.allow_download = !args.offline;
  options.source.progress = gemma4::cli::stderr_progress(args.quiet);
  const std::string output = to_hf ? args.to[1] : args.out;
  const gemma4::ConvertReport report = gemma4::convert_model(args.model, output, options);
  if (to_hf) {
    std::fprintf(stderr, "wrote %s (Hugging Face folder, from %s model '%s')\n", output.c_str(),
                 report.source_format.c_str(), args.model.c_str());
  } else {
    std::fprintf(stderr, "wrote %s (GGUF, %s, from %s model '%s')\n", output.c_str(),
                 args.type.empty() ? "f32" : args.type.c_str(), report.source_format.c_str(), args.model.c_str());
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(convert, [](CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand("convert", "Convert a checkpoint to GGUF (llama.cpp) or to a Hugging Face folder");
  sub->add_option("--model", args->model, "Source: Hugging Face folder, KerasHub preset folder or .gguf file")->required();
  sub->add_option("--out", args->out, "Output GGUF file");
  sub->add_option("--to", args->to, "Output format other than GGUF: 'hf' followed by the output folder")
      ->expected(2);
  sub->add_option("--type", args->type,
                  "Storage type of the matrices: f32 (default), bf16, f16, q8_0, q4_0 (GGUF); f32, bf16, f16 (hf)");
  sub->add_flag("--offline", args->offline, "Use the local caches only; never download the model");
  sub->add_flag("--quiet", args->quiet, "No progress bar on stderr");
  sub->callback([args] { run_convert(*args); });
});
