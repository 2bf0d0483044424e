// SentencePiece models (tokenizer.model): our own protobuf walk over the pieces and normalizer spec, then
// libsentencepiece's parse of the same bytes, then an encode and decode of a fixed string.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include "fuzz_util.h"
#include "text/tokenizer_internal.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string path = fuzz::write_scratch_file(data, size, ".model");
  try {
    const auto tokenizer = text::load_sentencepiece_model(path);
    const auto ids = tokenizer->encode("Hello, world! <start_of_turn>user\n\xe4\xbd\xa0\xe5\xa5\xbd  \t1234 <bos>");
    tokenizer->decode(ids);
  } catch (const Error&) {
  }
  return 0;
}
