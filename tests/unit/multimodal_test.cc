// Images and audio placed in the token sequence: KerasHub's vision, audio and multimodal_all fixtures
// (text + images + audio, with bidirectional attention inside each image) reproduced end to end, from the
// Hugging Face files and from the KerasHub preset folders.
#include <gemma4/backbone.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <gemma4/npy.h>

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / name; }

template <typename T>
std::vector<T> npy_values(const fs::path& path) {
  const NpyArray array = read_npy(path.string());
  return std::vector<T>(array.values.begin(), array.values.end());
}

BackboneInputs fixture_inputs(const std::string& name) {
  const fs::path in = fixture(name) / "inputs";
  const NpyArray tokens = read_npy((in / "token_ids.npy").string());
  BackboneInputs inputs;
  inputs.batch_size = tokens.shape[0];
  inputs.sequence_length = tokens.shape[1];
  inputs.token_ids = npy_values<int32_t>(in / "token_ids.npy");
  inputs.padding_mask = npy_values<int32_t>(in / "padding_mask.npy");
  inputs.position_ids = npy_values<int32_t>(in / "position_ids.npy");
  if (fs::exists(in / "pixel_values.npy")) {
    const NpyArray pixels = read_npy((in / "pixel_values.npy").string());
    inputs.images_per_sample = pixels.shape[1];
    inputs.patches_per_image = pixels.shape[2];
    inputs.pixel_values = npy_values<float>(in / "pixel_values.npy");
    inputs.pixel_position_ids = npy_values<int32_t>(in / "pixel_position_ids.npy");
    inputs.vision_indices = npy_values<int32_t>(in / "vision_indices.npy");
    inputs.vision_mask = npy_values<int32_t>(in / "vision_mask.npy");
  }
  if (fs::exists(in / "audio_mel.npy")) {
    const NpyArray mel = read_npy((in / "audio_mel.npy").string());
    inputs.clips_per_sample = mel.shape[1];
    inputs.mel_frames = mel.shape[2];
    inputs.audio_mel = npy_values<float>(in / "audio_mel.npy");
    inputs.audio_mel_mask = npy_values<int32_t>(in / "audio_mel_mask.npy");
    inputs.audio_indices = npy_values<int32_t>(in / "audio_indices.npy");
  }
  return inputs;
}

void expect_close(const std::vector<float>& got, const fs::path& npy) {
  const NpyArray want = read_npy(npy.string());
  ASSERT_EQ(got.size(), want.values.size()) << npy;
  double scale = 0, worst = 0;
  for (double v : want.values) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want.values[i]));
  std::printf("%s: max abs error %.3g, max magnitude %.3g\n", npy.string().c_str(), worst, scale);
  EXPECT_LE(worst, 1e-4 * scale) << npy;
}

class MultimodalFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(MultimodalFixture, ReproducesKerasHubOutputs) {
  const std::string name = GetParam();
  for (const fs::path& folder : {fixture(name), fixture(name) / "keras_preset"}) {
    SCOPED_TRACE(folder.string());
    auto backbone = Backbone::from_folder(folder.string());
    ForwardOptions options;
    options.keep_hidden_states = true;
    const BackboneOutputs out = backbone->forward(fixture_inputs(name), options);
    expect_close(out.hidden_states, fixture(name) / "outputs" / "hidden_states.npy");
    expect_close(out.sequence_output, fixture(name) / "outputs" / "sequence_output.npy");
    expect_close(out.logits, fixture(name) / "outputs" / "logits.npy");
  }
}

INSTANTIATE_TEST_SUITE_P(KerasHub, MultimodalFixture, ::testing::Values("vision", "audio", "multimodal_all"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace gemma4
