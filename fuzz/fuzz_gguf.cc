// GGUF reader: the header, metadata and tensor table (GgufFile::open), every tensor decoded when its size is
// small, then the checkpoint reader (config keys, tensor names, tokenizer.ggml.* keys) and the tokenizer it
// describes, which encodes a fixed string.
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <vector>

#include "formats/gguf.h"
#include "formats/model_folder.h"
#include "fuzz_util.h"
#include "kernels/matmul.h"
#include "loading/load_tokenizer.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string path = fuzz::write_scratch_file(data, size, ".gguf");
  try {
    const auto file = gguf::GgufFile::open(path);
    std::vector<float> values;
    for (const auto& info : file->tensors()) {
      const TensorView view = file->view(info);
      if (view.numel() > (1 << 20)) continue;  // large tensors: the table is checked, decoding costs time only
      values.resize(static_cast<size_t>(view.numel()));
      kernels::dequantize(view.dtype, view.data, view.numel(), values.data());
    }
  } catch (const Error&) {
    return 0;
  }
  try {
    const Checkpoint checkpoint = read_gguf_checkpoint(path);
    if (!checkpoint.tokenizer.empty()) {
      const auto tokenizer = load_tokenizer(checkpoint.tokenizer);
      const auto ids = tokenizer->encode("Hello, world! <start_of_turn>user\n\xe4\xbd\xa0\xe5\xa5\xbd  \t1234");
      tokenizer->decode(ids);
    }
  } catch (const Error&) {
  }
  return 0;
}
