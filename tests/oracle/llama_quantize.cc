// Test helper: quantizes a GGUF file with llama.cpp's own quantizer (llama_model_quantize in the prebuilt
// libllama of node-llama-cpp, loaded at run time), exactly as the llama-quantize tool does.
//
//   gemma4_llama_quantize LIBLLAMA.so IN.gguf OUT.gguf FTYPE [--imatrix-ones] [--threads N]
//
// FTYPE is a llama.cpp file type name (q4_0, q4_k_m, iq4_xs, ...). --imatrix-ones passes an importance
// matrix of ones for every weight matrix: the IQ1/IQ2/IQ3_XXS types refuse to quantize without one, and
// uniform importance makes them minimise the plain squared error. Exit 0 on success.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "formats/gguf.h"

namespace {

// The ABI of llama_model_quantize_params (include/llama.h of llama.cpp at node-llama-cpp's release,
// de3ff815): field order and types as declared there. The library fills it by value, so the tail reserve
// only adds slack for a larger struct.
struct QuantizeParams {
  int32_t nthread;
  int32_t ftype;
  int32_t output_tensor_type;
  int32_t token_embedding_type;
  bool allow_requantize;
  bool quantize_output_tensor;
  bool only_copy;
  bool pure;
  bool keep_split;
  bool dry_run;
  const void* imatrix;
  const void* kv_overrides;
  const void* tt_overrides;
  const int32_t* prune_layers;
  size_t max_buf_size;
  unsigned char reserve[256];
};

struct ImatrixEntry {  // llama_model_imatrix_data
  const char* name;
  const float* data;
  size_t size;
};

// llama_ftype values (include/llama.h).
const std::map<std::string, int> kFileTypes = {
    {"f32", 0},      {"f16", 1},      {"q4_0", 2},     {"q4_1", 3},     {"q8_0", 7},     {"q5_0", 8},
    {"q5_1", 9},     {"q2_k", 10},    {"q3_k_s", 11},  {"q3_k_m", 12},  {"q3_k_l", 13},  {"q4_k_s", 14},
    {"q4_k_m", 15},  {"q5_k_s", 16},  {"q5_k_m", 17},  {"q6_k", 18},    {"iq2_xxs", 19}, {"iq2_xs", 20},
    {"q2_k_s", 21},  {"iq3_xs", 22},  {"iq3_xxs", 23}, {"iq1_s", 24},   {"iq4_nl", 25},  {"iq3_s", 26},
    {"iq3_m", 27},   {"iq2_s", 28},   {"iq2_m", 29},   {"iq4_xs", 30},  {"iq1_m", 31},   {"bf16", 32},
    {"tq1_0", 36},   {"tq2_0", 37},   {"mxfp4_moe", 38}, {"nvfp4", 39}, {"q1_0", 40},    {"q2_0", 41},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: gemma4_llama_quantize LIBLLAMA.so IN.gguf OUT.gguf FTYPE [--imatrix-ones] [--threads N]\n");
    return 2;
  }
  const std::string lib = argv[1], input = argv[2], output = argv[3], ftype = argv[4];
  bool imatrix_ones = false;
  int threads = 2;
  for (int i = 5; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--imatrix-ones") {
      imatrix_ones = true;
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  const auto type = kFileTypes.find(ftype);
  if (type == kFileTypes.end()) {
    std::fprintf(stderr, "unknown file type %s\n", ftype.c_str());
    return 2;
  }
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    std::fprintf(stderr, "cannot load %s: %s\n", lib.c_str(), dlerror());
    return 1;
  }
  using DefaultParams = QuantizeParams (*)();
  using Quantize = uint32_t (*)(const char*, const char*, const QuantizeParams*);
  using BackendInit = void (*)();
  auto defaults = reinterpret_cast<DefaultParams>(dlsym(handle, "llama_model_quantize_default_params"));
  auto quantize = reinterpret_cast<Quantize>(dlsym(handle, "llama_model_quantize"));
  auto backend_init = reinterpret_cast<BackendInit>(dlsym(handle, "llama_backend_init"));
  if (!defaults || !quantize || !backend_init) {
    std::fprintf(stderr, "%s lacks llama_model_quantize\n", lib.c_str());
    return 1;
  }
  backend_init();
  QuantizeParams params = defaults();
  params.ftype = type->second;
  params.nthread = threads;

  std::vector<std::string> names;
  std::vector<std::vector<float>> ones;
  std::vector<ImatrixEntry> entries;
  if (imatrix_ones) {
    try {
      const auto file = gemma4::gguf::GgufFile::open(input);
      for (const auto& t : file->tensors()) {
        if (t.ne.size() < 2) continue;
        names.push_back(t.name);
        ones.emplace_back(static_cast<size_t>(t.ne[0] * (t.ne.size() > 2 ? t.ne[2] : 1)), 1.0f);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
    for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i].c_str(), ones[i].data(), ones[i].size()});
    entries.push_back({nullptr, nullptr, 0});
    params.imatrix = entries.data();
  }
  const uint32_t rc = quantize(input.c_str(), output.c_str(), &params);
  if (rc != 0) std::fprintf(stderr, "llama_model_quantize failed (%u)\n", rc);
  return rc == 0 ? 0 : 1;
}
