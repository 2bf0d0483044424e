// Tokenizer::for_model: the tokenizer a model comes with, without its weights (the checkpoint is opened,
// its weights are mapped but never read).
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include "loading/load_tokenizer.h"
#include "loading/open_checkpoint.h"

namespace gemma4 {

std::unique_ptr<Tokenizer> Tokenizer::for_model(const std::string& model) {
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(open_checkpoint(model).tokenizer);
  if (tokenizer == nullptr) throw Error("model '" + model + "' comes without a tokenizer (only token ids work with it)");
  return tokenizer;
}

}  // namespace gemma4
