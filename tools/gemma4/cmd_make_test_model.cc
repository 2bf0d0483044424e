// gemma4 make-test-model: a random-weight checkpoint in the Hugging Face layout for any config.
#include <gemma4/config.h>
#include <gemma4/error.h>

#include <cstdio>
#include <fstream>

#include "command_registry.h"
#include "formats/model_folder.h"
#include "loading/random_weights.h"
#include "schema/tensor_names.h"
#include "loading/test_tokenizer.h"

namespace {

struct MakeArgs {
  std::string config_path;
  std::string out;
  uint64_t seed = 0;
  std::string dtype = "f32";
  double embedding_std = gemma4::kTestEmbeddingStd;
};

gemma4::DType parse_storage(const std::string& name) {
  if (name == "f32" || name == "float32") return gemma4::DType::F32;
  if (name == "bf16" || name == "bfloat16") return gemma4::DType::BF16;
  if (name == "f16" || name == "float16") return gemma4::DType::F16;
  throw gemma4::Error("--dtype must be f32, bf16 or f16 (got '" + name + "')");
}

}  // namespace

GEMMA4_REGISTER_COMMAND(make_test_model, [](CLI::App& app) {
  auto args = std::make_shared<MakeArgs>();
  auto* sub = app.add_subcommand("make-test-model", "Write a random-weight model (config.json + model.safetensors)");
  sub->add_option("--config", args->config_path, "config.json (Hugging Face or KerasHub flavour)")->required();
  sub->add_option("--out", args->out, "Output folder")->required();
  sub->add_option("--seed", args->seed, "Random seed");
  sub->add_option("--dtype", args->dtype, "Storage type of the matrices: f32, bf16 or f16");
  sub->add_option("--embedding-std", args->embedding_std,
                  "Standard deviation of the random embeddings (0.5: peaked outputs for comparisons; 0.02: varied text)");
  sub->callback([args] {
    const gemma4::Gemma4Config config = gemma4::config_from_file(args->config_path);
    auto weights = gemma4::make_random_weights(config, args->seed, parse_storage(args->dtype), args->embedding_std);
    gemma4::write_hf_folder(args->out, config, *weights);
    // A synthetic byte-level tokenizer, so text prompts work on test models with a big enough vocabulary.
    if (config.vocabulary_size >= gemma4::test_tokenizer_min_vocab()) {
      std::ofstream(args->out + "/tokenizer.json") << gemma4::make_test_tokenizer_json(config.vocabulary_size);
    }
    std::fprintf(stderr, "wrote %s: %lld parameters\n", args->out.c_str(),
                 static_cast<long long>(gemma4::count_text_parameters(config)));
  });
});
