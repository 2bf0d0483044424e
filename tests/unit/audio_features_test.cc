// Log-mel features against KerasHub's audio converter fixture (its own config: 800 Hz, 16 mels, FFT 32,
// hop 8, 1 s clips), and the WAV reader on files written here byte by byte.
#include <gemma4/audio_features.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gemma4/npy.h>

namespace gemma4 {
namespace {

TEST(AudioFeatures, MatchesKerasHubConverterFixture) {
  const std::filesystem::path dir =
      std::filesystem::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "audio" / "converters";
  const NpyArray wave = read_npy((dir / "audio_waveform.npy").string());
  const NpyArray expected = read_npy((dir / "audio_mel.npy").string());
  ASSERT_EQ(expected.shape, (std::vector<int64_t>{1, 100, 16}));
  AudioFeatureOptions options;  // the fixture converter's settings (manifest.json converter_configs)
  options.sampling_rate = 800;
  options.num_mels = 16;
  options.fft_length = 32;
  options.frame_length = 32;
  options.hop_length = 8;
  options.max_frequency = 400.0;
  options.mel_floor = 1e-3;
  options.max_seconds = 1.0;
  std::vector<float> samples(wave.values.begin(), wave.values.end());
  const AudioFeatures mel = log_mel_features(samples.data(), static_cast<int64_t>(samples.size()), options);
  EXPECT_EQ(mel.frames, 100);
  EXPECT_EQ(mel.valid_frames, 600 / 8);
  ASSERT_EQ(mel.mel.size(), expected.values.size());
  double worst = 0;
  for (size_t i = 0; i < mel.mel.size(); ++i) worst = std::max(worst, std::abs(mel.mel[i] - expected.values[i]));
  EXPECT_LE(worst, 1e-4) << "largest difference to KerasHub's log-mel values";
  std::printf("KerasHub audio converter fixture: max |ours - KerasHub| = %.3g (log-mel values in [-6.9, 0.9])\n", worst);
  EXPECT_EQ(mel.mask[74], 1);
  EXPECT_EQ(mel.mask[75], 0);
}

void write_wav(const std::string& path, uint16_t format, uint16_t channels, uint32_t rate, uint16_t bits,
               const std::vector<uint8_t>& data) {
  std::vector<uint8_t> file;
  auto put = [&](const void* p, size_t n) { file.insert(file.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); };
  auto u32 = [&](uint32_t v) { put(&v, 4); };
  auto u16 = [&](uint16_t v) { put(&v, 2); };
  put("RIFF", 4);
  u32(static_cast<uint32_t>(36 + data.size()));
  put("WAVE", 4);
  put("fmt ", 4);
  u32(16);
  u16(format);
  u16(channels);
  u32(rate);
  u32(rate * channels * bits / 8);
  u16(static_cast<uint16_t>(channels * bits / 8));
  u16(bits);
  put("data", 4);
  u32(static_cast<uint32_t>(data.size()));
  put(data.data(), data.size());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
}

TEST(AudioFeatures, WavReaderScalesAndMixesChannels) {
  const std::string path = testing::TempDir() + "gemma4_test.wav";
  // Stereo 16-bit: frames (16384, -16384) and (32767, 32767) -> means 0 and 32767 / 32768.
  const int16_t pcm[4] = {16384, -16384, 32767, 32767};
  std::vector<uint8_t> bytes(sizeof(pcm));
  std::memcpy(bytes.data(), pcm, sizeof(pcm));
  write_wav(path, 1, 2, 16000, 16, bytes);
  int64_t rate = 0;
  std::vector<float> samples = load_wav(path, &rate);
  EXPECT_EQ(rate, 16000);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_FLOAT_EQ(samples[0], 0.0f);
  EXPECT_FLOAT_EQ(samples[1], 32767.0f / 32768.0f);
  // Mono float32.
  const float values[3] = {0.25f, -1.0f, 0.5f};
  bytes.resize(sizeof(values));
  std::memcpy(bytes.data(), values, sizeof(values));
  write_wav(path, 3, 1, 8000, 32, bytes);
  samples = load_wav(path, &rate);
  EXPECT_EQ(rate, 8000);
  EXPECT_EQ(samples, std::vector<float>(values, values + 3));
  // Errors name the file.
  write_wav(path, 2, 1, 8000, 4, bytes);  // ADPCM
  try {
    load_wav(path, &rate);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("unsupported WAV sample format"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "not audio";
  EXPECT_THROW(load_wav(path, &rate), Error);
  EXPECT_THROW(load_wav("/nonexistent.wav", &rate), Error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace gemma4
