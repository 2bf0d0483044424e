// KerasHub weights (.weights.h5): the bytes go to a scratch .h5 file, KerasH5Store indexes it (datasets,
// shapes, element types as libhdf5 reports them) and every dataset small enough is read back. What is under
// test is our code's use of what HDF5 returns: shapes, sizes and types validated before they are trusted.
#include <gemma4/error.h>

#include <vector>

#include "formats/keras_h5.h"
#include "fuzz_util.h"

using namespace gemma4;

GEMMA4_FUZZ_TARGET {
  const std::string path = fuzz::write_scratch_file(data, size, ".weights.h5");
  try {
    const auto store = KerasH5Store::open(path);
    std::vector<uint8_t> bytes;
    for (const auto& [name, entry] : store->datasets()) {
      if (entry.nbytes > (size_t{1} << 24)) continue;  // the index is checked; big reads cost time only
      store->read(name, bytes);
    }
  } catch (const Error&) {
  }
  return 0;
}
