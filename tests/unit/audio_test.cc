// Gemma4AudioEncoder against KerasHub's golden fixture (tiny conformer, two clips per sample, one clip
// with padded frames), with weights from the KerasHub preset and from the Hugging Face safetensors, and
// the config from both config.json dialects.
#include <gemma4/audio.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <gemma4/npy.h>
#include "formats/model_folder.h"
#include "loading/open_checkpoint.h"
#include "audio/make_audio_encoder.h"
#include "schema/weight_source.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path fixture() { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "audio"; }

struct AudioInputs {
  int64_t clips = 0, frames = 0;
  std::vector<float> mel;
  std::vector<uint8_t> mask;
};

AudioInputs fixture_inputs() {
  const NpyArray mel = read_npy((fixture() / "inputs" / "audio_mel.npy").string());
  const NpyArray mask = read_npy((fixture() / "inputs" / "audio_mel_mask.npy").string());
  AudioInputs in;
  in.clips = mel.shape[0] * mel.shape[1];  // [B, clips, frames, mels] -> [B * clips, ...]
  in.frames = mel.shape[2];
  in.mel.assign(mel.values.begin(), mel.values.end());
  for (double v : mask.values) in.mask.push_back(v != 0.0 ? 1 : 0);
  return in;
}

// Max |a - b| of each clip over the max |b| of all clips; fails on a shape mismatch.
void expect_close_per_clip(const std::vector<float>& actual, const NpyArray& expected, int64_t clips,
                           const std::string& what) {
  ASSERT_EQ(actual.size(), expected.values.size()) << what << ": element count";
  double scale = 0;
  for (double v : expected.values) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0.0) << what << ": the expected output is all zeros";
  const size_t per_clip = actual.size() / static_cast<size_t>(clips);
  for (int64_t clip = 0; clip < clips; ++clip) {
    double worst = 0;
    for (size_t i = clip * per_clip; i < (clip + 1) * per_clip; ++i) {
      worst = std::max(worst, std::abs(actual[i] - expected.values[i]));
    }
    EXPECT_LE(worst / scale, 1e-4) << what << " clip " << clip;
    std::printf("%s clip %lld: max relative difference %.3g\n", what.c_str(), static_cast<long long>(clip), worst / scale);
  }
}

void check_against_fixture(const std::string& model_path, const std::string& config_path) {
  const Checkpoint model = open_checkpoint(model_path);
  const AudioConfig config = audio_config_from_json(config_path);
  const auto encoder = make_audio_encoder(*model.weights, config);
  const AudioInputs in = fixture_inputs();

  AudioSubsampled sub;
  const AudioTokens tokens = encoder->encode(in.mel.data(), in.mask.data(), in.clips, in.frames, &sub);

  const NpyArray sscp = read_npy((fixture() / "outputs" / "audio_sscp_output.npy").string());
  const NpyArray sscp_mask = read_npy((fixture() / "outputs" / "audio_sscp_mask.npy").string());
  ASSERT_EQ((Shape{sub.clips, sub.frames, sub.dim}), sscp.shape);
  expect_close_per_clip(sub.values, sscp, in.clips, "sscp output");
  ASSERT_EQ(sub.mask.size(), sscp_mask.values.size());
  for (size_t i = 0; i < sub.mask.size(); ++i) EXPECT_EQ(sub.mask[i] != 0, sscp_mask.values[i] != 0) << "sscp mask " << i;

  const NpyArray expected = read_npy((fixture() / "outputs" / "audio_encoder_output.npy").string());
  ASSERT_EQ(expected.shape.size(), 4u);
  ASSERT_EQ((Shape{tokens.clips, tokens.tokens, tokens.dim}),
            (Shape{expected.shape[0] * expected.shape[1], expected.shape[2], expected.shape[3]}));
  expect_close_per_clip(tokens.values, expected, in.clips, "encoder output");
  EXPECT_EQ(tokens.mask, sub.mask);  // reduction factor 1: one token per sub-sampled frame
}

TEST(AudioEncoder, KerasPresetMatchesKerasHub) {
  check_against_fixture((fixture() / "keras_preset").string(), (fixture() / "keras_preset" / "config.json").string());
}

TEST(AudioEncoder, HfSafetensorsMatchesKerasHub) {
  check_against_fixture(fixture().string(), (fixture() / "config.json").string());
}

// Deterministic mel-like values in [-4, 0) (log-mel range), frames x mels.
std::vector<float> synthetic_mel(int64_t frames, int64_t mels, uint32_t seed) {
  std::vector<float> mel(static_cast<size_t>(frames * mels));
  for (float& v : mel) {
    seed = seed * 1664525u + 1013904223u;
    v = -4.0f * static_cast<float>(seed >> 8) / static_cast<float>(1u << 24);
  }
  return mel;
}

std::unique_ptr<AudioEncoder> fixture_encoder(Checkpoint& model) {
  model = open_checkpoint(fixture().string());
  return make_audio_encoder(*model.weights, audio_config_from_json((fixture() / "config.json").string()));
}

// The conformer is causal (chunked attention sees only past keys, the light conv is left-padded) and
// the two 3x3 stride-2 convolutions reach 3 mel frames ahead of 4 t, so token t depends only on mel
// frames < 4 t + 4. Over 40 frames the attention runs over 3 chunks.
TEST(AudioEncoder, TokensDependOnlyOnPastFrames) {
  Checkpoint model;
  const auto encoder = fixture_encoder(model);
  const int64_t frames = 40, mels = encoder->config().input_feat_size, changed_token = 6;
  const std::vector<float> mel = synthetic_mel(frames, mels, 7);
  std::vector<float> later = mel;
  for (int64_t i = (4 * changed_token) * mels; i < frames * mels; ++i) later[i] = -later[i] - 1.0f;
  const std::vector<uint8_t> mask(frames, 1);
  const AudioTokens a = encoder->encode(mel.data(), mask.data(), 1, frames);
  const AudioTokens b = encoder->encode(later.data(), mask.data(), 1, frames);
  ASSERT_EQ(a.tokens, 10);
  const int64_t dim = a.dim;
  for (int64_t t = 0; t < a.tokens; ++t) {
    float diff = 0;
    for (int64_t j = 0; j < dim; ++j) diff = std::max(diff, std::abs(a.values[t * dim + j] - b.values[t * dim + j]));
    if (t < changed_token) {
      EXPECT_EQ(diff, 0.0f) << "token " << t << " saw frames from " << 4 * changed_token << " on";
    } else {
      EXPECT_GT(diff, 1e-4f) << "token " << t << " did not see frames up to " << 4 * t + 3;
    }
  }
}

// Padded frames are zeroed before each convolution and masked as attention keys, so the valid tokens
// of a padded clip equal those of the clip cut to its valid frames, whatever the padding holds.
TEST(AudioEncoder, PaddingDoesNotLeakIntoValidTokens) {
  Checkpoint model;
  const auto encoder = fixture_encoder(model);
  const int64_t frames = 48, valid = 29, mels = encoder->config().input_feat_size;
  const std::vector<float> mel = synthetic_mel(frames, mels, 11);
  std::vector<uint8_t> mask(frames, 0);
  std::fill(mask.begin(), mask.begin() + valid, 1);
  const AudioTokens padded = encoder->encode(mel.data(), mask.data(), 1, frames);
  const AudioTokens cut = encoder->encode(mel.data(), mask.data(), 1, valid);
  ASSERT_EQ(padded.tokens, 12);
  ASSERT_EQ(cut.tokens, 8);  // ceil(ceil(29 / 2) / 2)
  for (int64_t t = 0; t < padded.tokens; ++t) EXPECT_EQ(padded.mask[t], t < cut.tokens ? 1 : 0) << "token " << t;
  double scale = 0, worst = 0;
  for (size_t i = 0; i < cut.values.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(cut.values[i])));
    worst = std::max(worst, static_cast<double>(std::abs(cut.values[i] - padded.values[i])));
  }
  EXPECT_LE(worst, 1e-5 * scale);
}

TEST(AudioEncoder, BothConfigDialectsAgree) {
  const AudioConfig keras = audio_config_from_json((fixture() / "keras_preset" / "config.json").string());
  const AudioConfig hf = audio_config_from_json((fixture() / "config.json").string());
  EXPECT_EQ(keras.input_feat_size, hf.input_feat_size);
  EXPECT_EQ(keras.hidden_size, hf.hidden_size);
  EXPECT_EQ(keras.num_heads, hf.num_heads);
  EXPECT_EQ(keras.num_layers, hf.num_layers);
  EXPECT_EQ(keras.chunk_size, hf.chunk_size);
  EXPECT_EQ(keras.context_left, hf.context_left);
  EXPECT_EQ(keras.sscp_conv_channels, hf.sscp_conv_channels);
  EXPECT_EQ(keras.sscp_kernel_sizes, hf.sscp_kernel_sizes);
  EXPECT_EQ(keras.output_proj_dims, hf.output_proj_dims);
  EXPECT_EQ(keras.output_dim, hf.output_dim);
  EXPECT_EQ(keras.use_clipped_linears, hf.use_clipped_linears);
  EXPECT_EQ(keras.output_dim, 8);  // the fixture's text hidden_dim
}

TEST(AudioEncoder, MissingOrMisshapedTensorsAreNamed) {
  const Checkpoint model = open_checkpoint(fixture().string());
  AudioConfig config = audio_config_from_json((fixture() / "config.json").string());
  config.hidden_size = 32;  // weights are 16 wide
  try {
    make_audio_encoder(*model.weights, config);
    FAIL() << "a 32-wide config bound 16-wide weights";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("audio_tower.subsample_conv_projection.input_proj_linear.weight"),
              std::string::npos)
        << e.what();
  }
  WeightSource empty;
  empty.description = "empty source";
  config = audio_config_from_json((fixture() / "config.json").string());
  EXPECT_THROW(make_audio_encoder(empty, config), Error);
}

}  // namespace
}  // namespace gemma4
