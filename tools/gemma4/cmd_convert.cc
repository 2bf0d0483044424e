// gemma4 convert: any checkpoint (Hugging Face folder, KerasHub preset, GGUF) to a GGUF file llama.cpp loads,
// or to a Hugging Face folder, so formats round-trip.
//
//   gemma4 convert --model SRC --out F.gguf [--type f32|bf16|f16|q8_0|q4_0]
//   gemma4 convert --model SRC --to hf DIR [--type f32|bf16|f16]
#include <gemma4/error.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "command_registry.h"
#include "formats/gguf_model.h"
#include "formats/model_folder.h"
#include "kernels/matmul.h"

namespace {

namespace fs = std::filesystem;

struct ConvertArgs {
  std::string model;
  std::string out;
  std::vector<std::string> to;  // {"hf", DIR}
  std::string type;
};

gemma4::DType parse_type(const std::string& name, bool allow_quantized) {
  using gemma4::DType;
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "bf16") return DType::BF16;
  if (allow_quantized && name == "q8_0") return DType::Q8_0;
  if (allow_quantized && name == "q4_0") return DType::Q4_0;
  throw gemma4::Error("--type must be one of f32, bf16, f16" + std::string(allow_quantized ? ", q8_0, q4_0" : "") +
                      " (got '" + name + "')");
}

// Safetensors holds only float types: quantized tensors (and, with --type, all float ones) are decoded.
std::shared_ptr<gemma4::WeightSource> float_weights(const gemma4::WeightSource& in, const std::string& type) {
  using namespace gemma4;
  auto out = std::make_shared<WeightSource>();
  out->description = in.description;
  out->keep_alive(std::shared_ptr<const void>(&in, [](const void*) {}));  // the caller keeps `in` alive
  const bool forced = !type.empty();
  const DType target = forced ? parse_type(type, false) : DType::F32;
  for (const auto& name : in.names()) {
    const SourceTensor& t = *in.find(name);
    const bool is_float = t.view.dtype == DType::F32 || t.view.dtype == DType::F16 || t.view.dtype == DType::BF16;
    if ((is_float && !forced) || t.view.dtype == target) {
      out->add(name, t.view, t.origin);
      continue;
    }
    const int64_t n = t.view.numel();
    std::vector<float> values(static_cast<size_t>(n));
    const int64_t cols = t.view.cols();
    const size_t src_row = dtype_row_bytes(t.view.dtype, cols);
    for (int64_t r = 0; r < n / std::max<int64_t>(cols, 1); ++r) {
      kernels::dequantize(t.view.dtype, t.view.data + r * src_row, cols, values.data() + r * cols);
    }
    auto& buffer = out->new_buffer(static_cast<size_t>(n) * (target == DType::F32 ? 4 : 2));
    for (int64_t i = 0; i < n; ++i) {
      if (target == DType::F32) {
        std::memcpy(buffer.data() + 4 * i, &values[i], 4);
      } else {
        const uint16_t bits = target == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
        std::memcpy(buffer.data() + 2 * i, &bits, 2);
      }
    }
    TensorView view = t.view;
    view.dtype = target;
    view.data = buffer.data();
    view.nbytes = buffer.size();
    out->add(name, view, t.origin);
  }
  return out;
}

void run_convert(const ConvertArgs& args) {
  using namespace gemma4;
  const bool to_hf = !args.to.empty();
  if (to_hf == !args.out.empty()) throw Error("give either --out F.gguf or --to hf DIR");
  LoadedModel model = load_model(args.model);
  if (!to_hf) {
    const DType type = args.type.empty() ? DType::F32 : parse_type(args.type, true);
    write_gguf_model(args.out, model, type);
    std::fprintf(stderr, "wrote %s (GGUF, %s, from %s model '%s')\n", args.out.c_str(), args.type.empty() ? "f32" : args.type.c_str(),
                 model.format.c_str(), args.model.c_str());
    return;
  }
  if (args.to.size() != 2 || args.to[0] != "hf") throw Error("--to takes 'hf' and the output folder: --to hf DIR");
  const std::string& to_dir = args.to[1];
  auto weights = float_weights(*model.weights, args.type);
  write_hf_folder(to_dir, model.config, *weights);
  // The tokenizer travels along: the source's file, or the tokenizer.json built from GGUF metadata.
  const fs::path dir(to_dir);
  if (!model.tokenizer.empty() && fs::exists(model.tokenizer)) {
    fs::copy_file(model.tokenizer, dir / fs::path(model.tokenizer).filename(), fs::copy_options::overwrite_existing);
  } else if (!model.tokenizer_json.empty()) {
    std::ofstream(dir / "tokenizer.json", std::ios::binary | std::ios::trunc) << model.tokenizer_json;
  }
  std::fprintf(stderr, "wrote %s (Hugging Face folder, from %s model '%s')\n", to_dir.c_str(), model.format.c_str(),
               args.model.c_str());
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
  sub->callback([args] { run_convert(*args); });
});
