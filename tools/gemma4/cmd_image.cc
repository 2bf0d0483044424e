// gemma4 image: decode an image file and cut it into vision-encoder patches as the image converter does;
// prints the geometry and can dump the resized pixels and the patches as .npy.
#include <gemma4/error.h>
#include <gemma4/image.h>

#include <cstdio>

#include "command_registry.h"
#include <gemma4/npy.h>

namespace {

struct ImageArgs {
  std::string image;
  int64_t max_soft_tokens = 280;
  std::string resized_path, patches_path, positions_path;
};

void run_image(const ImageArgs& args) {
  using namespace gemma4;
  const Image image = load_image(args.image);
  ImageConverterOptions options;
  options.max_soft_tokens = args.max_soft_tokens;
  const ImagePatches patches = image_to_patches(image, options);
  std::printf("image %s: %lld x %lld -> resized %lld x %lld, %lld patches, %lld soft tokens (padded to %lld patches)\n",
              args.image.c_str(), static_cast<long long>(image.height), static_cast<long long>(image.width),
              static_cast<long long>(patches.height), static_cast<long long>(patches.width),
              static_cast<long long>(patches.patches), static_cast<long long>(patches.soft_tokens),
              static_cast<long long>(patches.max_patches));
  if (!args.resized_path.empty()) {
    const ImageF resized = resize_bicubic(image, patches.height, patches.width);
    write_npy(args.resized_path, {resized.height, resized.width, 3}, resized.rgb.data());
  }
  if (!args.patches_path.empty()) {
    write_npy(args.patches_path, {patches.max_patches, options.patch_size * options.patch_size * 3},
              patches.pixel_values.data());
  }
  if (!args.positions_path.empty()) {
    std::vector<float> positions(patches.positions.begin(), patches.positions.end());
    write_npy(args.positions_path, {patches.max_patches, 2}, positions.data());
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(image, [](CLI::App& app) {
  auto args = std::make_shared<ImageArgs>();
  auto* sub = app.add_subcommand("image", "Decode an image and cut it into vision-encoder patches");
  sub->add_option("--image", args->image, "Image file (PNG, JPEG, BMP, GIF, ...)")->required();
  sub->add_option("--max-soft-tokens", args->max_soft_tokens, "Soft-token budget of the resize (70/140/280/560/1120)");
  sub->add_option("--dump-resized", args->resized_path, "Write the resized image [H, W, 3] in [0, 255] (.npy)");
  sub->add_option("--dump-patches", args->patches_path, "Write the patches [max_patches, p*p*3] in [0, 1] (.npy)");
  sub->add_option("--dump-positions", args->positions_path, "Write the (x, y) patch positions [max_patches, 2] (.npy)");
  sub->callback([args] { run_image(*args); });
});
