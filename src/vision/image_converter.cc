// Image decoding (stb_image, Debian's libstb-dev header), the aspect-preserving resize rule, antialiased
// bicubic resampling and patch cutting. Numbers follow transformers image_processing_gemma4.py and keras-hub gemma4_image_converter.py.
#include <gemma4/error.h>
#include <gemma4/image.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <string_view>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // files are read here, so errors can name them
#define STBI_MAX_DIMENSIONS 16384  // = kMaxImageSide; stb's own check, for the formats its info call cannot size
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "core/file_io.h"

namespace gemma4 {
namespace {

// Keys' cubic convolution kernel with a = -0.5 (support 2), as PIL's and TensorFlow's bicubic use.
double cubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output index along one axis: the first input index and the normalised weights of the inputs
// it reads. Shrinking widens the kernel by the scale (antialiasing); the taps are centred on the output
// pixel's centre mapped into the input, (i + 0.5) * scale.
struct Taps {
  std::vector<int64_t> first;
  std::vector<int64_t> count;
  std::vector<double> weights;  // [out, max_count]
  int64_t max_count = 0;
};

Taps make_taps(int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  Taps taps;
  taps.max_count = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  taps.first.resize(static_cast<size_t>(out));
  taps.count.resize(static_cast<size_t>(out));
  taps.weights.assign(static_cast<size_t>(out * taps.max_count), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in);
    double* w = taps.weights.data() + i * taps.max_count;
    double total = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      w[j - lo] = cubic((static_cast<double>(j) - center + 0.5) / filter_scale);
      total += w[j - lo];
    }
    if (total != 0.0) {
      for (int64_t j = 0; j < hi - lo; ++j) w[j] /= total;
    }
    taps.first[i] = lo;
    taps.count[i] = hi - lo;
  }
  return taps;
}

}  // namespace

// stb_image 2.27 (Debian's libstb-dev) writes past a Huffman table's arrays when a JPEG DHT segment lists more
// than 256 codes. Such a file is corrupt: the segments are walked here as stb reads them (markers, lengths,
// entropy-coded data up to the next marker) and the file is rejected before stb sees it.
static void check_jpeg_huffman_tables(const uint8_t* d, size_t n, const std::string& what) {
  // The start-of-image marker FF D8, which stb (like any marker) accepts behind extra FF fill bytes.
  if (n < 2 || d[0] != 0xFF) return;
  size_t at = 1;
  while (at < n && d[at] == 0xFF) ++at;
  if (at >= n || d[at] != 0xD8) return;  // not a JPEG
  ++at;
  while (at + 4 <= n) {
    if (d[at] != 0xFF || d[at + 1] == 0xFF) {  // padding between segments, fill bytes: stb scans on too
      ++at;
      continue;
    }
    const uint8_t marker = d[at + 1];
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without a length
      at += 2;
      continue;
    }
    if (marker == 0xD9) return;  // end of image
    const size_t end = std::min(n, at + 2 + (size_t{d[at + 2]} << 8 | d[at + 3]));
    if (marker == 0xC4) {
      // As stb reads it: tables while the declared length lasts, even past the segment's end (bytes past the
      // file's end read as 0).
      int64_t remaining = int64_t{d[at + 2]} << 8 | d[at + 3];
      remaining -= 2;
      for (size_t table = at + 4; remaining > 0 && table < n;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16 && table + i < n; ++i) codes += d[table + i];
        if (codes > 256) {
          throw Error(what + ": corrupt JPEG: a Huffman table (DHT segment at byte " + std::to_string(at) +
                      ") lists " + std::to_string(codes) + " codes, more than the 256 a table can hold");
        }
        table += 17 + codes;
        remaining -= static_cast<int64_t>(17 + codes);
      }
    }
    at = std::max(end, at + 2);
    if (marker == 0xDA) {  // entropy-coded data: FF 00 is a stuffed byte, FF D0..D7 a restart marker
      while (at + 1 < n && !(d[at] == 0xFF && d[at + 1] != 0x00 && (d[at + 1] < 0xD0 || d[at + 1] > 0xD7))) ++at;
    }
  }
}

// stb_image 2.27 also reads a binary PNM header's numbers into an int without an overflow check: a width,
// height or maxval of more than 9 digits is rejected here first (whitespace and # comments as stb skips them).
static void check_pnm_header(const uint8_t* d, size_t n, const std::string& what) {
  if (n < 2 || d[0] != 'P' || (d[1] != '5' && d[1] != '6')) return;  // stb reads P5 and P6 only
  size_t at = 2;
  for (const char* field : {"width", "height", "maxval"}) {
    while (at < n && (std::isspace(d[at]) || d[at] == '#')) {
      if (d[at] == '#') {
        while (at < n && d[at] != '\n' && d[at] != '\r') ++at;
      } else {
        ++at;
      }
    }
    size_t digits = 0;
    int64_t value = 0;
    for (; at < n && d[at] >= '0' && d[at] <= '9'; ++at, ++digits) {
      if (digits < 18) value = value * 10 + (d[at] - '0');
    }
    if (digits == 0) return;  // stb reports the malformed header itself
    if (digits > 9) {
      throw Error(what + ": corrupt PNM header: the " + field + " has " + std::to_string(digits) +
                  " digits (at most 9)");
    }
    // stb 2.27 converts 16-bit grey to RGB into a buffer sized for 8 bits, then reads it as 16-bit.
    if (d[1] == '5' && std::string_view(field) == "maxval" && value > 255) {
      throw Error(what + ": 16-bit PGM (maxval " + std::to_string(value) + ") is not supported (maxval at most 255)");
    }
  }
}

// Limits on what a header may ask for, checked before decoding allocates: a few bytes of header must not
// cost gigabytes. 64 megapixels (e.g. 8192 x 8192) is far above what the processors resize to.
constexpr int kMaxImageSide = 16384;
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

Image decode_image(const uint8_t* data, size_t size, const std::string& what) {
  if (size == 0) throw Error(what + ": empty image data");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error(what + ": " + std::to_string(size) + " bytes of image data; the limit is 2 GiB");
  }
  check_jpeg_huffman_tables(data, size, what);
  check_pnm_header(data, size, what);
  int width = 0, height = 0, channels = 0;
  if (stbi_info_from_memory(data, static_cast<int>(size), &width, &height, &channels) &&
      (width > kMaxImageSide || height > kMaxImageSide || int64_t{width} * height > kMaxImagePixels)) {
    throw Error(what + ": the image is " + std::to_string(width) + " x " + std::to_string(height) +
                " pixels; the limit is " + std::to_string(kMaxImageSide) + " per side and " +
                std::to_string(kMaxImagePixels) + " pixels in all");
  }
  stbi_uc* pixels = stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &channels, 3);
  if (pixels == nullptr) {
    throw Error(what + ": not a readable image (" + std::string(stbi_failure_reason()) +
                "; PNG, JPEG, BMP, GIF, TGA, PSD and PNM are supported)");
  }
  Image image;
  image.height = height;
  image.width = width;
  image.rgb.assign(pixels, pixels + static_cast<size_t>(width) * height * 3);
  stbi_image_free(pixels);
  return image;
}

Image load_image(const std::string& path) {
  const std::string bytes = read_file(path);
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::pair<int64_t, int64_t> aspect_preserving_size(int64_t height, int64_t width, const ImageConverterOptions& o) {
  if (height <= 0 || width <= 0) {
    throw Error("image of " + std::to_string(height) + " x " + std::to_string(width) + " pixels has no area");
  }
  if (o.patch_size <= 0 || o.pooling_kernel_size <= 0 || o.max_soft_tokens <= 0) {
    throw Error("image converter: patch_size, pooling_kernel_size and max_soft_tokens must be positive");
  }
  const int64_t k = o.pooling_kernel_size;
  const int64_t side = o.patch_size * k;  // both sides are whole pooling windows of patches
  const double max_patches = static_cast<double>(o.max_soft_tokens * k * k);
  const double target_pixels = max_patches * static_cast<double>(o.patch_size * o.patch_size);
  const double factor = std::sqrt(target_pixels / (static_cast<double>(height) * static_cast<double>(width)));
  int64_t h = static_cast<int64_t>(std::floor(factor * static_cast<double>(height) / side)) * side;
  int64_t w = static_cast<int64_t>(std::floor(factor * static_cast<double>(width) / side)) * side;
  // A very elongated image: the short side gets one window, the long one as many as the ratio allows.
  if (h == 0 && w == 0) {
    h = w = side;
  } else if (h == 0) {
    h = side;
    w = std::min(width / height * side, o.max_soft_tokens * side);
  } else if (w == 0) {
    w = side;
    h = std::min(height / width * side, o.max_soft_tokens * side);
  }
  return {h, w};
}

ImageF resize_bicubic(const Image& image, int64_t height, int64_t width) {
  if (height <= 0 || width <= 0) throw Error("resize_bicubic: target size must be positive");
  if (image.rgb.size() != static_cast<size_t>(image.height * image.width * 3)) {
    throw Error("resize_bicubic: the image holds " + std::to_string(image.rgb.size()) + " bytes, not " +
                std::to_string(image.height) + " x " + std::to_string(image.width) + " x 3");
  }
  // Horizontal pass into [in_height, width, 3], then vertical into [height, width, 3].
  const Taps across = make_taps(image.width, width);
  std::vector<double> rows(static_cast<size_t>(image.height * width * 3));
  for (int64_t y = 0; y < image.height; ++y) {
    const uint8_t* in = image.rgb.data() + y * image.width * 3;
    for (int64_t x = 0; x < width; ++x) {
      const double* w = across.weights.data() + x * across.max_count;
      double sum[3] = {0, 0, 0};
      for (int64_t j = 0; j < across.count[x]; ++j) {
        const uint8_t* pixel = in + (across.first[x] + j) * 3;
        for (int c = 0; c < 3; ++c) sum[c] += w[j] * pixel[c];
      }
      for (int c = 0; c < 3; ++c) rows[(y * width + x) * 3 + c] = sum[c];
    }
  }
  const Taps down = make_taps(image.height, height);
  ImageF out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * width * 3));
  for (int64_t y = 0; y < height; ++y) {
    const double* w = down.weights.data() + y * down.max_count;
    for (int64_t x = 0; x < width * 3; ++x) {
      double sum = 0;
      for (int64_t j = 0; j < down.count[y]; ++j) sum += w[j] * rows[(down.first[y] + j) * width * 3 + x];
      out.rgb[y * width * 3 + x] = static_cast<float>(std::clamp(sum, 0.0, 255.0));
    }
  }
  return out;
}

ImagePatches image_to_patches(const Image& image, const ImageConverterOptions& options) {
  const auto [height, width] = aspect_preserving_size(image.height, image.width, options);
  const ImageF resized = resize_bicubic(image, height, width);
  const int64_t p = options.patch_size;
  const int64_t k = options.pooling_kernel_size;
  const int64_t rows = height / p, cols = width / p;
  ImagePatches out;
  out.height = height;
  out.width = width;
  out.patches = rows * cols;
  out.soft_tokens = out.patches / (k * k);
  out.max_patches = options.pad_to_max_patches ? std::max(out.patches, options.max_soft_tokens * k * k) : out.patches;
  const int64_t patch_width = p * p * 3;
  constexpr float kRescale = 1.0f / 255.0f;  // rescale_factor, applied as a product as both references do
  out.pixel_values.assign(static_cast<size_t>(out.max_patches * patch_width), 0.0f);
  out.positions.assign(static_cast<size_t>(out.max_patches * 2), -1);
  for (int64_t py = 0; py < rows; ++py) {
    for (int64_t px = 0; px < cols; ++px) {
      const int64_t patch = py * cols + px;  // raster order
      float* dst = out.pixel_values.data() + patch * patch_width;
      for (int64_t r = 0; r < p; ++r) {
        const float* src = resized.rgb.data() + ((py * p + r) * width + px * p) * 3;
        for (int64_t i = 0; i < p * 3; ++i) dst[r * p * 3 + i] = src[i] * kRescale;
      }
      out.positions[patch * 2] = static_cast<int32_t>(px);
      out.positions[patch * 2 + 1] = static_cast<int32_t>(py);
    }
  }
  return out;
}

}  // namespace gemma4
