// safetensors reader: the 8-byte header length, the JSON header (dtypes, shapes, offsets) and the tensors'
// placement in the file.
#include <gemma4/error.h>

#include "formats/safetensors.h"
#include "fuzz_util.h"
#include "schema/weight_source.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string path = fuzz::write_scratch_file(data, size, ".safetensors");
  try {
    WeightSource source;
    read_safetensors_file(path, source, "", true);
    for (const auto& name : source.names()) source.find(name);
  } catch (const Error&) {
  }
  return 0;
}
