#include "loading/open_checkpoint.h"

#include <gemma4/preset.h>

#include <filesystem>

#include "formats/model_folder.h"
#include "loading/builtin_model.h"
#include "loading/random_weights.h"
#include "loading/test_tokenizer.h"

namespace gemma4 {

Checkpoint open_checkpoint(const std::string& name) {
  if (is_builtin_model(name)) {
    Checkpoint builtin;
    builtin.path = name;
    builtin.format = "builtin";
    builtin.config = builtin_tiny_config();
    builtin.weights = make_random_weights(builtin.config, /*seed=*/1234, DType::F32, kDemoEmbeddingStd);
    builtin.tokenizer.bpe = std::make_shared<const text::BpeSpec>(make_test_bpe_spec(builtin.config.vocabulary_size));
    return builtin;
  }
  // Not on disk: a preset name or a handle, found in the local caches (resolve_preset_path returns an
  // existing path, or throws saying where it looked and how to get it).
  if (!std::filesystem::exists(name)) return read_checkpoint(resolve_preset_path(name));
  return read_checkpoint(name);
}

}  // namespace gemma4
