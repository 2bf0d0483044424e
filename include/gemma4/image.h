// Images for the vision encoder (KerasHub's Gemma4ImageConverter / HF's Gemma4ImageProcessor): decode a
// file, resize it with its aspect ratio kept so that it makes at most `max_soft_tokens` soft tokens, and
// cut it into the patches and (x, y) patch positions that VisionEncoder::encode takes.
//
//   gemma4::Image image = gemma4::load_image("cat.jpg");
//   gemma4::ImagePatches p = gemma4::image_to_patches(image);   // 280-token budget, 16-px patches, 3x3 pooling
//   encoder.encode(p.pixel_values.data(), p.positions.data(), 1, p.max_patches);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gemma4 {

// 8-bit RGB, rows top to bottom, [height, width, 3].
struct Image {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> rgb;
};

// Float RGB in [0, 255] (a resize result), [height, width, 3].
struct ImageF {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<float> rgb;
};

// PNG, JPEG, BMP, GIF (first frame), TGA, PSD, PNM; grey or alpha images become RGB (alpha dropped).
// Throws gemma4::Error naming the file and what is wrong.
Image load_image(const std::string& path);
// The same from bytes in memory (`what` names them in errors).
Image decode_image(const uint8_t* data, size_t size, const std::string& what);

struct ImageConverterOptions {
  int64_t patch_size = 16;
  int64_t pooling_kernel_size = 3;
  int64_t max_soft_tokens = 280;  // 70, 140, 280, 560 or 1120 in the released processors
  bool pad_to_max_patches = true; // pad with zero patches at position (-1, -1) up to max_soft_tokens * k^2
};

// The resized (height, width): both multiples of patch_size * pooling_kernel_size, area close to
// max_soft_tokens * k^2 patches (HF's get_aspect_ratio_preserving_size, KerasHub's converter).
std::pair<int64_t, int64_t> aspect_preserving_size(int64_t height, int64_t width, const ImageConverterOptions& options);

// Antialiased bicubic resampling (Keys cubic, a = -0.5; the kernel widened by the scale when shrinking),
// separable, in float32 with no rounding between the passes; the result is clipped to [0, 255].
ImageF resize_bicubic(const Image& image, int64_t height, int64_t width);

struct ImagePatches {
  int64_t height = 0, width = 0;  // after the resize
  int64_t patches = 0;            // real patches: (height / p) * (width / p)
  int64_t max_patches = 0;        // rows of pixel_values / positions (patches, or the padded count)
  int64_t soft_tokens = 0;        // tokens the encoder makes of it: patches / k^2
  std::vector<float> pixel_values;  // [max_patches, p * p * 3]: values / 255, (row-in-patch, col, channel)
  std::vector<int32_t> positions;   // [max_patches, 2]: (x = patch column, y = patch row); (-1, -1) padding
};

ImagePatches image_to_patches(const Image& image, const ImageConverterOptions& options = {});

}  // namespace gemma4
