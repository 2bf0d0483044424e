// Random test weights: stored only in the float types they can be written in; quantized types are refused
// (they are made by requantizing float weights), instead of writing 2-byte values into a quantized buffer.
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <string>

#include "loading/builtin_model.h"
#include "loading/random_weights.h"

namespace gemma4 {
namespace {

TEST(RandomWeights, FloatStorageTypesHoldTheirType) {
  const Gemma4Config config = builtin_tiny_config();
  for (DType type : {DType::F32, DType::BF16, DType::F16}) {
    auto source = make_random_weights(config, 3, type);
    EXPECT_EQ(source->find("layers.0.self_attn.q_proj.weight")->view.dtype, type) << dtype_name(type);
    EXPECT_EQ(source->find("layers.0.input_layernorm.weight")->view.dtype, DType::F32) << dtype_name(type);
  }
}

TEST(RandomWeights, QuantizedStorageIsRefused) {
  const Gemma4Config config = builtin_tiny_config();
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    try {
      make_random_weights(config, 3, type);
      ADD_FAILURE() << "expected an error for " << dtype_name(type);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("not ") + dtype_name(type)), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace gemma4
