// The vision encoder against KerasHub's fixtures, loaded from both each fixture's Hugging Face
// safetensors and its KerasHub preset folder: `vision` (patch 4, pool 2, 2 layers, head_dim 4, clipped
// linears; per sample one full 4x4 patch grid and one 2x4 grid padded to 16 patches) and the encoder of
// `multimodal_all` (head_dim 8, so RoPE frequencies other than 1; standardize, no clipping). Plus
// hand-derived checks of the 2-D RoPE.
#include <gemma4/error.h>
#include <gemma4/vision.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gemma4/npy.h>
#include "formats/model_folder.h"
#include "loading/open_checkpoint.h"
#include "schema/weight_source.h"
#include "vision/make_vision_encoder.h"
#include "vision/vision_attention.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures";
const fs::path kFixture = kFixtures / "vision";

template <typename T>
std::vector<T> read_as(const fs::path& path, Shape* shape = nullptr) {
  const NpyArray array = read_npy(path.string());
  if (shape) *shape = array.shape;
  return std::vector<T>(array.values.begin(), array.values.end());
}

struct VisionInputs {
  Shape pixel_shape;  // [batch, images, patches, 3 p^2]
  std::vector<float> pixels;
  std::vector<int32_t> positions;
  int64_t images() const { return pixel_shape[0] * pixel_shape[1]; }
  int64_t patches() const { return pixel_shape[2]; }
};

VisionInputs fixture_inputs(const fs::path& fixture = kFixture) {
  VisionInputs in;
  in.pixels = read_as<float>(fixture / "inputs" / "pixel_values.npy", &in.pixel_shape);
  in.positions = read_as<int32_t>(fixture / "inputs" / "pixel_position_ids.npy");
  return in;
}

struct Encoded {
  std::vector<float> output;
  VisionIntermediates intermediates;
};

Encoded encode_folder(const fs::path& folder, const VisionInputs& in) {
  const Checkpoint model = open_checkpoint(folder.string());
  const VisionConfig config = vision_config_from_json((folder / "config.json").string());
  const auto encoder = make_vision_encoder(*model.weights, config);
  Encoded e;
  e.output = encoder->encode(in.pixels.data(), in.positions.data(), in.images(), in.patches(), &e.intermediates);
  return e;
}

// Compares one [batch, images, rows, dim] output with KerasHub's, per sample and image, to 1e-4 of the
// largest magnitude of the whole reference.
void expect_matches(const fs::path& fixture, const std::vector<float>& actual, const std::string& name) {
  Shape shape;
  const std::vector<float> expected = read_as<float>(fixture / "outputs" / (name + ".npy"), &shape);
  ASSERT_EQ(actual.size(), expected.size()) << name;
  float max_ref = 0;
  for (float v : expected) max_ref = std::max(max_ref, std::fabs(v));
  ASSERT_GT(max_ref, 0.0f) << name;
  const int64_t per_image = shape[2] * shape[3];
  for (int64_t b = 0; b < shape[0]; ++b) {
    for (int64_t i = 0; i < shape[1]; ++i) {
      const int64_t first = (b * shape[1] + i) * per_image;
      float max_diff = 0;
      for (int64_t j = first; j < first + per_image; ++j) {
        max_diff = std::max(max_diff, std::fabs(actual[j] - expected[j]));
      }
      EXPECT_LE(max_diff / max_ref, 1e-4) << name << " sample " << b << " image " << i;
    }
  }
}

TEST(VisionEncoder, ConfigsOfBothFormatsAgree) {
  const VisionConfig hf = vision_config_from_json((kFixture / "config.json").string());
  const VisionConfig keras = vision_config_from_json((kFixture / "keras_preset" / "config.json").string());
  for (const VisionConfig& c : {hf, keras}) {
    EXPECT_EQ(c.hidden_dim, 8);
    EXPECT_EQ(c.num_layers, 2);
    EXPECT_EQ(c.num_heads, 2);
    EXPECT_EQ(c.num_key_value_heads, 2);
    EXPECT_EQ(c.head_dim, 4);
    EXPECT_EQ(c.intermediate_dim, 16);
    EXPECT_EQ(c.patch_size, 4);
    EXPECT_EQ(c.pool_size, 2);
    EXPECT_EQ(c.position_table_size, 1024);
    EXPECT_DOUBLE_EQ(c.rope_wavelength, 100.0);
    EXPECT_FLOAT_EQ(c.norm_epsilon, 1e-6f);
    EXPECT_TRUE(c.use_clipped_linears);
    EXPECT_FALSE(c.standardize);
    EXPECT_EQ(c.output_dim, 8);
  }
  EXPECT_FALSE(has_vision_config((fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "text_all" /
                                  "keras_preset" / "config.json").string()));
}

class VisionEncoderFixture : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path fixture() const { return kFixtures / GetParam(); }
  void expect_all_match(const Encoded& e) const {
    expect_matches(fixture(), e.intermediates.patch_encoder_output, "vision_patch_encoder_output");
    expect_matches(fixture(), e.intermediates.pooled, "vision_pooled");
    expect_matches(fixture(), e.output, "vision_encoder_output");
  }
};

TEST_P(VisionEncoderFixture, HuggingFaceSafetensorsMatchKerasHub) {
  expect_all_match(encode_folder(fixture(), fixture_inputs(fixture())));
}

TEST_P(VisionEncoderFixture, KerasPresetMatchesKerasHubAndSafetensors) {
  const VisionInputs in = fixture_inputs(fixture());
  const Encoded keras = encode_folder(fixture() / "keras_preset", in);
  expect_all_match(keras);
  // Bit-identical weights give the same numbers, whatever the format they came from.
  const Encoded hf = encode_folder(fixture(), in);
  EXPECT_EQ(keras.output, hf.output);
}

INSTANTIATE_TEST_SUITE_P(KerasHub, VisionEncoderFixture, ::testing::Values("vision", "multimodal_all"));

TEST(VisionEncoder, MultimodalFixtureConfigUsesStandardizeWithoutClipping) {
  for (const fs::path& file : {kFixtures / "multimodal_all" / "config.json",
                               kFixtures / "multimodal_all" / "keras_preset" / "config.json"}) {
    const VisionConfig c = vision_config_from_json(file.string());
    EXPECT_EQ(c.head_dim, 8) << file;
    EXPECT_EQ(c.position_table_size, 64) << file;
    EXPECT_FALSE(c.use_clipped_linears) << file;
    EXPECT_TRUE(c.standardize) << file;
    EXPECT_EQ(c.output_dim, 16) << file;
  }
}

// Padding patches (position -1) neither see nor are seen: changing their pixels changes nothing.
TEST(VisionEncoder, PaddingPatchPixelsDoNotMatter) {
  VisionInputs in = fixture_inputs();
  const Encoded before = encode_folder(kFixture, in);
  int64_t changed = 0;
  const int64_t width = in.pixel_shape[3];
  for (int64_t r = 0; r < in.images() * in.patches(); ++r) {
    if (in.positions[2 * r] == -1 && in.positions[2 * r + 1] == -1) {
      for (int64_t j = 0; j < width; ++j) in.pixels[r * width + j] = 0.25f + 0.5f * static_cast<float>(j % 2);
      ++changed;
    }
  }
  ASSERT_GT(changed, 0) << "the fixture was expected to hold padding patches";
  const Encoded after = encode_folder(kFixture, in);
  EXPECT_EQ(before.output, after.output);
  EXPECT_EQ(before.intermediates.patch_encoder_output, after.intermediates.patch_encoder_output);
}

// head_dim 4: one rotate_half pair per axis, inv_freq = 100^0 = 1, so dims (0,1) turn by x radians and
// dims (2,3) by y radians.
TEST(VisionEncoder, RopeTurnsXHalfByColumnAndYHalfByRow) {
  std::vector<float> head = {1.0f, 2.0f, 3.0f, -1.0f};
  const int32_t position[2] = {2, -1};
  apply_vision_rope(head.data(), 1, 1, 4, position, 100.0);
  const float cx = std::cos(2.0f), sx = std::sin(2.0f), cy = std::cos(-1.0f), sy = std::sin(-1.0f);
  EXPECT_NEAR(head[0], 1 * cx - 2 * sx, 1e-6);
  EXPECT_NEAR(head[1], 2 * cx + 1 * sx, 1e-6);
  EXPECT_NEAR(head[2], 3 * cy - (-1) * sy, 1e-6);
  EXPECT_NEAR(head[3], -1 * cy + 3 * sy, 1e-6);
}

// head_dim 8: per axis a part of 4 with pairs (0,2), (1,3) and inv_freq {1, 100^-1/2 = 0.1}.
TEST(VisionEncoder, RopeFrequenciesWithinEachHalf) {
  std::vector<float> head = {1, 0, 0, 0, 0, 1, 0, 0};
  const int32_t position[2] = {3, 5};
  apply_vision_rope(head.data(), 1, 1, 8, position, 100.0);
  EXPECT_NEAR(head[0], std::cos(3.0f), 1e-6);  // x part, pair (0,2), angle 3 * 1
  EXPECT_NEAR(head[2], std::sin(3.0f), 1e-6);
  EXPECT_NEAR(head[5], std::cos(0.5f), 1e-6);  // y part, pair (1,3), angle 5 * 0.1
  EXPECT_NEAR(head[7], std::sin(0.5f), 1e-6);
  EXPECT_NEAR(head[1], 0.0f, 1e-7);
  EXPECT_NEAR(head[4], 0.0f, 1e-7);
}

TEST(VisionEncoder, MissingTensorIsNamed) {
  const Checkpoint model = open_checkpoint(kFixture.string());
  VisionConfig config = vision_config_from_json((kFixture / "config.json").string());
  config.num_layers = 3;  // the fixture has two
  try {
    make_vision_encoder(*model.weights, config);
    FAIL() << "expected an error for the missing third block";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vision_tower.encoder.layers.2."), std::string::npos) << e.what();
  }
  config = vision_config_from_json((kFixture / "config.json").string());
  config.hidden_dim = 16;
  EXPECT_THROW(make_vision_encoder(*model.weights, config), Error);
}

}  // namespace
}  // namespace gemma4
