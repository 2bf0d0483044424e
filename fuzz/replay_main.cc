// Replays a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput over every regular file of the
// directories (or files) given, so the seed corpora and the regressions found by fuzzing run in ctest.
// A crash or sanitizer report fails the test; the target itself treats gemma4::Error as a normal outcome.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root(argv[i]);
    if (std::filesystem::is_regular_file(root)) {
      run_file(root);
      ++count;
      continue;
    }
    if (!std::filesystem::is_directory(root)) {
      std::fprintf(stderr, "replay: %s is neither a file nor a folder\n", argv[i]);
      return 2;
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      run_file(entry.path());
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "replay: no input files\n");
    return 2;
  }
  std::printf("replayed %zu inputs\n", count);
  return 0;
}
