// Generation with images and audio: CausalLM places an item's soft tokens at its placeholder run, and
// greedy decoding through the KV cache picks the same tokens as recomputing Backbone::forward (the path
// that reproduces KerasHub's vision and audio fixtures) over the whole sequence at every step.
#include <gemma4/audio_features.h>
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gemma4/image.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "loading/builtin_model.h"
#include "loading/test_tokenizer.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path vision_fixture() { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "vision"; }

ImagePatches test_image(const Backbone& backbone, int shade) {
  Image image;
  image.height = 23;
  image.width = 37;
  image.rgb.resize(23 * 37 * 3);
  for (size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = static_cast<uint8_t>((i * 37 + shade) % 256);
  ImageConverterOptions options = backbone.image_converter_options();  // patch 4, pooling 2 in the fixture
  options.max_soft_tokens = 6;
  return image_to_patches(image, options);
}

// Last-position logits of the full forward with the image placed at `slots`.
std::vector<float> reference_logits(const Backbone& backbone, const std::vector<int32_t>& ids, const ImagePatches* image,
                                    const std::vector<int32_t>& slots) {
  BackboneInputs in;
  in.token_ids = ids;
  in.sequence_length = static_cast<int64_t>(ids.size());
  if (image) {
    in.images_per_sample = 1;
    in.patches_per_image = image->max_patches;
    in.pixel_values = image->pixel_values;
    in.pixel_position_ids = image->positions;
    in.vision_indices = slots;
    in.vision_mask.assign(ids.size(), 0);
    for (int32_t slot : slots) in.vision_mask[static_cast<size_t>(slot)] = 1;
  }
  const std::vector<float> logits = backbone.forward(in).logits;
  const int64_t vocab = backbone.config().vocabulary_size;
  return std::vector<float>(logits.end() - vocab, logits.end());
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(MediaGeneration, ImageCachedGreedyDecodingEqualsFullForward) {
  auto reference = Backbone::from_folder(vision_fixture().string());
  const ImagePatches image = test_image(*reference, 0);
  ASSERT_GT(image.soft_tokens, 1);
  constexpr int32_t kPlaceholder = 7;
  std::vector<int32_t> prompt = {2, 40, 41};
  std::vector<int32_t> slots;
  for (int64_t t = 0; t < image.soft_tokens; ++t) {
    slots.push_back(static_cast<int32_t>(prompt.size()));
    prompt.push_back(kPlaceholder);
  }
  prompt.insert(prompt.end(), {50, 51, 52});

  // The image must matter, or the comparison below would prove nothing.
  const auto with_image = reference_logits(*reference, prompt, &image, slots);
  const auto without = reference_logits(*reference, prompt, nullptr, {});
  float moved = 0;
  for (size_t i = 0; i < with_image.size(); ++i) moved = std::max(moved, std::abs(with_image[i] - without[i]));
  ASSERT_GT(moved, 1e-3f);

  std::vector<int32_t> expected, sequence = prompt;
  for (int step = 0; step < 6; ++step) {
    expected.push_back(argmax(reference_logits(*reference, sequence, &image, slots)));
    sequence.push_back(expected.back());
  }

  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = 4;  // the image run crosses chunk boundaries
  CausalLM lm(Backbone::from_folder(vision_fixture().string()), nullptr, options);
  GenerationConfig config;
  config.max_new_tokens = 6;
  config.sampling = SamplingConfig::greedy();
  config.stop_token_ids = {-5};  // none: always six tokens
  CausalLM::Media media;
  media.images = {image};
  media.image_placeholder = kPlaceholder;
  const GenerationResult result = lm.generate(prompt, media, config);
  EXPECT_EQ(result.tokens, expected);

  // A second call with another image must not reuse the first image's cached positions.
  const ImagePatches other = test_image(*reference, 99);
  std::vector<int32_t> expected_other;
  sequence = prompt;
  for (int step = 0; step < 3; ++step) {
    expected_other.push_back(argmax(reference_logits(*reference, sequence, &other, slots)));
    sequence.push_back(expected_other.back());
  }
  config.max_new_tokens = 3;
  media.images = {other};
  EXPECT_EQ(lm.generate(prompt, media, config).tokens, expected_other);
}

fs::path audio_fixture() { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "audio"; }

// The audio fixture's encoder takes 16 mel bins; its converter settings (manifest.json) make them.
AudioFeatures test_clip(int64_t samples, double pitch) {
  std::vector<float> wave(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i) wave[i] = static_cast<float>(0.3 * std::sin(pitch * static_cast<double>(i)));
  AudioFeatureOptions options;
  options.sampling_rate = 800;
  options.num_mels = 16;
  options.fft_length = 32;
  options.frame_length = 32;
  options.hop_length = 8;
  options.max_frequency = 400.0;
  options.max_seconds = 1.0;
  return log_mel_features(wave.data(), samples, options);
}

std::vector<float> reference_audio_logits(const Backbone& backbone, const std::vector<int32_t>& ids,
                                          const AudioFeatures& clip, const std::vector<int32_t>& slots) {
  BackboneInputs in;
  in.token_ids = ids;
  in.sequence_length = static_cast<int64_t>(ids.size());
  in.clips_per_sample = 1;
  in.mel_frames = 4 * Backbone::audio_tokens(clip);  // KerasHub clips the mel to 4 frames per token
  in.audio_mel.assign(clip.mel.begin(), clip.mel.begin() + in.mel_frames * clip.mels);
  in.audio_mel_mask.assign(clip.mask.begin(), clip.mask.begin() + in.mel_frames);
  in.audio_indices = slots;
  const std::vector<float> logits = backbone.forward(in).logits;
  const int64_t vocab = backbone.config().vocabulary_size;
  return std::vector<float>(logits.end() - vocab, logits.end());
}

TEST(MediaGeneration, AudioCachedGreedyDecodingEqualsFullForward) {
  auto reference = Backbone::from_folder(audio_fixture().string());
  ASSERT_TRUE(reference->has_audio());
  const AudioFeatures clip = test_clip(300, 0.9);  // 37 valid frames -> 10 soft tokens
  ASSERT_EQ(Backbone::audio_tokens(clip), 10);
  constexpr int32_t kPlaceholder = 9;
  std::vector<int32_t> prompt = {2, 60};
  std::vector<int32_t> slots;
  for (int64_t t = 0; t < Backbone::audio_tokens(clip); ++t) {
    slots.push_back(static_cast<int32_t>(prompt.size()));
    prompt.push_back(kPlaceholder);
  }
  prompt.insert(prompt.end(), {70, 71});
  std::vector<int32_t> expected, sequence = prompt;
  for (int step = 0; step < 5; ++step) {
    expected.push_back(argmax(reference_audio_logits(*reference, sequence, clip, slots)));
    sequence.push_back(expected.back());
  }
  // The audio must matter: another clip changes the reference's logits.
  const auto a = reference_audio_logits(*reference, prompt, clip, slots);
  const auto b = reference_audio_logits(*reference, prompt, test_clip(300, 2.1), slots);
  float moved = 0;
  for (size_t i = 0; i < a.size(); ++i) moved = std::max(moved, std::abs(a[i] - b[i]));
  ASSERT_GT(moved, 1e-3f);

  CausalLM::Options options;
  options.max_context = 64;
  options.prefill_chunk = 5;
  CausalLM lm(Backbone::from_folder(audio_fixture().string()), nullptr, options);
  GenerationConfig config;
  config.max_new_tokens = 5;
  config.sampling = SamplingConfig::greedy();
  config.stop_token_ids = {-5};
  CausalLM::Media media;
  media.audio = {clip};
  media.audio_placeholder = kPlaceholder;
  EXPECT_EQ(lm.generate(prompt, media, config).tokens, expected);
}

TEST(MediaGeneration, PlaceholderRunsMustMatchTheImages) {
  CausalLM::Options options;
  options.max_context = 64;
  CausalLM lm(Backbone::from_folder(vision_fixture().string()), nullptr, options);
  const ImagePatches image = test_image(lm.backbone(), 0);
  GenerationConfig config;
  config.max_new_tokens = 1;
  std::vector<int32_t> short_run = {2, 7, 7, 9};  // fewer placeholders than the image's soft tokens
  CausalLM::Media media;
  media.images = {image};
  media.image_placeholder = 7;
  EXPECT_THROW(lm.generate(short_run, media, config), Error);
  EXPECT_THROW(lm.generate({2, 9, 10}, media, config), Error);  // an image without a run
  media.image_placeholder = -1;
  EXPECT_THROW(lm.generate({2, 9, 10}, media, config), Error);  // no tokenizer to name <|image|>
  auto text_only = Backbone::from_config(lm.config(), 1);
  EXPECT_FALSE(text_only->has_vision());
  EXPECT_THROW(text_only->image_embeddings(image), Error);
}

// Text with one <|image|> / <|audio|> per item expands to <|image>, one <|image|> per soft token, <image|>
// (and the same for audio), in the order the items are given.
TEST(MediaGeneration, TokenizeWithMediaExpandsEachPlaceholder) {
  const Gemma4Config config = builtin_tiny_config();
  CausalLM lm(Backbone::from_config(config, 1), make_test_tokenizer(config.vocabulary_size), CausalLM::Options{});
  const SpecialTokenIds& ids = lm.tokenizer()->special_ids();
  CausalLM::Media media;
  media.images.resize(2);
  media.images[0].soft_tokens = 3;
  media.images[1].soft_tokens = 1;
  AudioFeatures clip;
  clip.valid_frames = 9;  // ceil(9 / 4) = 3 tokens
  media.audio = {clip};
  const std::vector<int32_t> text = lm.tokenizer()->encode("hi");
  std::vector<int32_t> expected = {ids.image_start, ids.image, ids.image, ids.image, ids.image_end};
  expected.insert(expected.end(), text.begin(), text.end());
  expected.insert(expected.end(), {ids.audio_start, ids.audio, ids.audio, ids.audio, ids.audio_end, ids.image_start,
                                   ids.image, ids.image_end});
  EXPECT_EQ(lm.tokenize_with_media("<|image|>hi<|audio|><|image|>", media), expected);
  EXPECT_THROW(lm.tokenize_with_media("<|image|>hi<|audio|>", media), Error);  // one image left over
  EXPECT_THROW(lm.tokenize_with_media("<|image|><|image|><|image|><|audio|>", media), Error);  // one too many
}

}  // namespace
}  // namespace gemma4
