// convert_model: one Checkpoint opened and prepared as the builder would, then written in another format.
#include <gemma4/convert.h>
#include <gemma4/error.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/file_io.h"
#include "formats/gguf_model.h"
#include "formats/model_folder.h"
#include "formats/tokenizer_json_writer.h"
#include "kernels/matmul.h"
#include "loading/build_backbone.h"
#include "loading/open_checkpoint.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

DType parse_type(const std::string& name, bool allow_quantized) {
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "bf16") return DType::BF16;
  if (allow_quantized && name == "q8_0") return DType::Q8_0;
  if (allow_quantized && name == "q4_0") return DType::Q4_0;
  throw Error("type must be one of f32, bf16, f16" + std::string(allow_quantized ? ", q8_0, q4_0" : "") + " (got '" +
              name + "')");
}

// Safetensors holds only float types: quantized tensors (and, with a type, all float ones) are decoded.
std::shared_ptr<WeightSource> float_weights(std::shared_ptr<WeightSource> in, const std::string& type,
                                            const ProgressCallback& progress) {
  auto out = std::make_shared<WeightSource>();
  out->description = in->description;
  out->keep_alive(in);
  const bool forced = !type.empty();
  const DType target = forced ? parse_type(type, false) : DType::F32;
  const auto names = in->names();
  int64_t done = 0;
  for (const auto& name : names) {
    if (progress) progress(Progress{"convert tensors", done++, static_cast<int64_t>(names.size()), "tensors"});
    const SourceTensor& t = *in->find(name);
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
  if (progress) progress(Progress{"convert tensors", done, done, "tensors"});
  return out;
}

void write_hf_tokenizer(const TokenizerSource& tokenizer, const fs::path& dir) {
  if (!tokenizer.file.empty() && fs::exists(tokenizer.file)) {
    write_file_atomic((dir / fs::path(tokenizer.file).filename()).string(), read_file(tokenizer.file));
  } else if (tokenizer.bpe) {
    write_file_atomic((dir / "tokenizer.json").string(), tokenizer_json_from_bpe_spec(*tokenizer.bpe));
  }
}

// The output must not replace what is being read: the same file (or a link to it), or, for a Hugging Face
// folder, the model's own folder (config.json and model.safetensors would be replaced mid-conversion).
void refuse_overwriting_the_input(const std::string& model, const std::string& output, const std::string& format) {
  std::error_code error;
  const fs::path source(model);
  const bool same = fs::exists(output) && fs::exists(source) && fs::equivalent(output, source, error);
  const fs::path source_folder = fs::is_directory(source) ? source : source.parent_path();
  const bool into_source_folder = format == "hf" && fs::exists(output) && !source_folder.empty() &&
                                  fs::equivalent(output, source_folder, error);
  if (same || into_source_folder) {
    throw Error("convert: the output '" + output + "' is the model being converted ('" + model +
                "'); write to another " + (format == "hf" ? "folder" : "file"));
  }
}

}  // namespace

ConvertReport convert_model(const std::string& model, const std::string& output, const ConvertOptions& options) {
  if (!options.source.lora_adapters.empty() || !options.source.quantize.empty()) {
    throw Error("convert applies no LoRA adapters or quantize-on-load; give the storage type with --type");
  }
  if (options.format != "gguf" && options.format != "hf") {
    throw Error("convert writes gguf or hf (got '" + options.format + "')");
  }
  refuse_overwriting_the_input(model, output, options.format);
  Checkpoint checkpoint = open_checkpoint(model, options.source);
  prepare_checkpoint(checkpoint, options.source);
  ConvertReport report{checkpoint.format, output};
  if (options.format == "gguf") {
    write_gguf_model(output, checkpoint, options.type.empty() ? DType::F32 : parse_type(options.type, true));
    return report;
  }
  auto weights = float_weights(checkpoint.weights, options.type, options.source.progress);
  write_hf_folder(output, checkpoint.config, *weights);
  write_hf_tokenizer(checkpoint.tokenizer, output);
  return report;
}

}  // namespace gemma4
