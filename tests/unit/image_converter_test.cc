// The image converter: the resize rule against the worked examples of transformers' image_processing_gemma4.py (derived by hand
// from the formula there), patch order and positions on an image that needs no resampling, resampling
// identities, and clear errors for files that are not images.
#include <gemma4/error.h>
#include <gemma4/image.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gemma4/npy.h>

namespace gemma4 {
namespace {

using Size = std::pair<int64_t, int64_t>;

TEST(ImageConverter, AspectPreservingSizeMatchesWorkedExamples) {
  const ImageConverterOptions options;  // 280 tokens, 16-px patches, 3 x 3 pooling
  // 896 x 896: f = sqrt(2520 * 256 / 896^2) = 0.896, 803 -> 16 windows of 48 px -> 768.
  EXPECT_EQ(aspect_preserving_size(896, 896, options), Size(768, 768));
  // 480 x 640: f = 1.449 -> 695.6 and 927.5 -> 14 and 19 windows -> 672 x 912 (266 tokens).
  EXPECT_EQ(aspect_preserving_size(480, 640, options), Size(672, 912));
  // 1080 x 1920: f = 0.558 -> 602.4 and 1070.9 -> 576 x 1056 (264 tokens).
  EXPECT_EQ(aspect_preserving_size(1080, 1920, options), Size(576, 1056));
  // 10 x 4000: the short side rounds to 0 windows -> one window, the long one min(400, 280) windows.
  EXPECT_EQ(aspect_preserving_size(10, 4000, options), Size(48, 280 * 48));
  ImageConverterOptions small = options;
  small.max_soft_tokens = 70;  // 630 patches: f = sqrt(630 * 256 / 896^2) = 0.448 -> 401 -> 8 windows
  EXPECT_EQ(aspect_preserving_size(896, 896, small), Size(384, 384));
  EXPECT_THROW(aspect_preserving_size(0, 10, options), Error);
}

// A 768 x 768 image is already its target size, and bicubic resampling at scale 1 only hits kernel
// zeros and its centre: the pixels pass through unchanged, so every patch value is known exactly.
TEST(ImageConverter, PatchesAreRasterOrderedRowColumnChannel) {
  Image image;
  image.height = image.width = 768;
  image.rgb.resize(768 * 768 * 3);
  for (int64_t y = 0; y < 768; ++y)
    for (int64_t x = 0; x < 768; ++x)
      for (int c = 0; c < 3; ++c) image.rgb[(y * 768 + x) * 3 + c] = static_cast<uint8_t>((y * 7 + x * 3 + c * 50) % 256);
  const ImagePatches p = image_to_patches(image);
  EXPECT_EQ(p.patches, 48 * 48);
  EXPECT_EQ(p.soft_tokens, 256);
  EXPECT_EQ(p.max_patches, 2520);
  ASSERT_EQ(p.pixel_values.size(), static_cast<size_t>(2520 * 768));
  const float scale = 1.0f / 255.0f;
  for (int64_t patch : {0, 1, 47, 48, 1000, 2303}) {
    const int64_t py = patch / 48, px = patch % 48;
    EXPECT_EQ(p.positions[patch * 2], px);
    EXPECT_EQ(p.positions[patch * 2 + 1], py);
    for (int64_t r : {0, 5, 15})
      for (int64_t col : {0, 9, 15})
        for (int c = 0; c < 3; ++c) {
          const int64_t y = py * 16 + r, x = px * 16 + col;
          EXPECT_EQ(p.pixel_values[patch * 768 + (r * 16 + col) * 3 + c], image.rgb[(y * 768 + x) * 3 + c] * scale);
        }
  }
  for (int64_t patch : {2304, 2519}) {  // padding
    EXPECT_EQ(p.positions[patch * 2], -1);
    EXPECT_EQ(p.positions[patch * 2 + 1], -1);
    EXPECT_EQ(p.pixel_values[patch * 768 + 100], 0.0f);
  }
}

TEST(ImageConverter, ResamplingKeepsConstantsAndStaysInRange) {
  Image flat;
  flat.height = 37;
  flat.width = 91;
  flat.rgb.assign(37 * 91 * 3, 200);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{96, 144}, {10, 20}, {37, 91}}) {
    const ImageF out = resize_bicubic(flat, h, w);
    for (float v : out.rgb) ASSERT_NEAR(v, 200.0f, 1e-3f);  // the weights of every output pixel sum to 1
  }
  Image edges = flat;  // black/white stripes ring under a cubic kernel; the result is clipped
  for (size_t i = 0; i < edges.rgb.size(); ++i) edges.rgb[i] = ((i / 3) % 2) ? 255 : 0;
  for (float v : resize_bicubic(edges, 50, 200).rgb) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 255.0f);
  }
}

// KerasHub's own converter on the fixture's 30 x 20 image (patch 4, pooling 2, 4 soft tokens): resized to
// 16 x 8, 8 real patches of 48 values, padded to 16. KerasHub resamples with TensorFlow's antialiased
// bicubic, an independent implementation of the same kernel.
TEST(ImageConverter, MatchesKerasHubConverterFixture) {
  const std::filesystem::path dir =
      std::filesystem::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "vision" / "converters";
  const NpyArray input = read_npy((dir / "image_input.npy").string());
  const NpyArray pixels = read_npy((dir / "image_pixel_values.npy").string());
  const NpyArray positions = read_npy((dir / "image_pixel_position_ids.npy").string());
  ASSERT_EQ(input.shape, (std::vector<int64_t>{1, 30, 20, 3}));
  Image image;
  image.height = 30;
  image.width = 20;
  for (float v : input.values) image.rgb.push_back(static_cast<uint8_t>(v));
  ImageConverterOptions options;
  options.patch_size = 4;
  options.pooling_kernel_size = 2;
  options.max_soft_tokens = 4;
  const ImagePatches p = image_to_patches(image, options);
  EXPECT_EQ(p.height, 16);
  EXPECT_EQ(p.width, 8);
  EXPECT_EQ(p.soft_tokens, 2);
  ASSERT_EQ(p.pixel_values.size(), pixels.values.size());
  float worst = 0;
  for (size_t i = 0; i < pixels.values.size(); ++i) worst = std::max(worst, static_cast<float>(std::abs(p.pixel_values[i] - pixels.values[i])));
  EXPECT_LE(worst, 1e-5f) << "largest difference to KerasHub's pixel values (of 0..1)";
  for (size_t i = 0; i < positions.values.size(); ++i) EXPECT_EQ(p.positions[i], static_cast<int32_t>(positions.values[i]));
  std::printf("KerasHub image converter fixture: max |ours - KerasHub| = %.3g (pixel values in [0, 1])\n", worst);
}

TEST(ImageConverter, UnreadableFilesAreClearErrors) {
  EXPECT_THROW(load_image("/nonexistent/cat.png"), Error);
  const std::string path = testing::TempDir() + "not_an_image.png";
  std::ofstream(path) << "this is text, not a PNG";
  try {
    load_image(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a readable image"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace gemma4
