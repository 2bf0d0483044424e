#include "loading/random_weights.h"

#include <cmath>
#include <cstring>
#include <random>

#include <gemma4/error.h>

#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

// Box-Muller over mt19937_64, so the numbers are the same with every standard library.
class NormalSource {
 public:
  explicit NormalSource(uint64_t seed) : engine_(seed) {}
  float next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(radius * std::sin(2.0 * M_PI * u2));
    has_spare_ = true;
    return static_cast<float>(radius * std::cos(2.0 * M_PI * u2));
  }

 private:
  std::mt19937_64 engine_;
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::shared_ptr<WeightSource> make_random_weights(const Gemma4Config& config, uint64_t seed, DType storage,
                                                   double embedding_std) {
  // Quantized storage is made by requantizing float weights (model/requantize.h), never written here.
  if (storage != DType::F32 && storage != DType::BF16 && storage != DType::F16) {
    throw Error(std::string("random weights can be stored as f32, bf16 or f16, not ") + dtype_name(storage));
  }
  auto source = std::make_shared<WeightSource>();
  source->description = "random weights (seed " + std::to_string(seed) + ")";
  NormalSource normal(seed);
  std::vector<float> values;
  for (const auto& tensor : expected_text_tensors(config)) {
    int64_t count = 1;
    for (int64_t dim : tensor.shape) count *= dim;
    values.resize(static_cast<size_t>(count));
    const std::string& name = tensor.name;
    if (tensor.role == TensorRole::kMatrix) {
      const bool embedding = name == "embed_tokens.weight" || name == "embed_tokens_per_layer.weight";
      const double std_dev = embedding ? embedding_std : 1.0 / std::sqrt(static_cast<double>(tensor.shape.back()));
      for (auto& v : values) v = static_cast<float>(std_dev * normal.next());
    } else if (tensor.role == TensorRole::kScalar) {
      for (auto& v : values) v = 1.0f + 0.1f * normal.next();
    } else if (ends_with(name, "q_norm.weight") || ends_with(name, "k_norm.weight")) {
      const float scale = std::pow(static_cast<float>(tensor.shape[0]), -0.25f);
      for (auto& v : values) v = scale * (1.0f + 0.1f * normal.next());
    } else {
      for (auto& v : values) v = 1.0f + 0.1f * normal.next();
    }
    // Store in the requested type; small vectors stay float32 as converters write them.
    const DType type = tensor.role == TensorRole::kMatrix ? storage : DType::F32;
    auto& buffer = source->new_buffer(dtype_row_bytes(type, count));
    if (type == DType::F32) {
      std::memcpy(buffer.data(), values.data(), buffer.size());
    } else {
      auto* out = reinterpret_cast<uint16_t*>(buffer.data());
      for (int64_t i = 0; i < count; ++i) out[i] = type == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
    }
    TensorView view;
    view.dtype = type;
    view.shape = tensor.shape;
    view.data = buffer.data();
    view.nbytes = buffer.size();
    source->add(name, view, source->description);
  }
  return source;
}

}  // namespace gemma4
