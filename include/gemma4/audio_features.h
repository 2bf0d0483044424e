// Audio for the audio encoder (KerasHub's Gemma4AudioConverter): a WAV file -> mono samples -> log-mel
// frames and their valid-frame mask, as AudioEncoder::encode takes them.
//
//   int64_t rate = 0;
//   std::vector<float> samples = gemma4::load_wav("speech.wav", &rate);   // must be 16 kHz for Gemma 4
//   gemma4::AudioFeatures mel = gemma4::log_mel_features(samples.data(), samples.size());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

struct AudioFeatureOptions {
  int64_t sampling_rate = 16000;
  int64_t num_mels = 128;
  int64_t fft_length = 512;
  int64_t frame_length = 320;  // 20 ms
  int64_t hop_length = 160;    // 10 ms
  double min_frequency = 0.0;
  double max_frequency = 8000.0;
  double mel_floor = 1e-3;     // the released presets' processor_config value (KerasHub's default is 1e-5)
  double max_seconds = 30.0;   // clips are cut or zero-padded to this length
};

struct AudioFeatures {
  int64_t frames = 0;        // max_seconds * rate / hop
  int64_t valid_frames = 0;  // frames < samples / hop (KerasHub's preprocessor rule)
  int64_t mels = 0;
  std::vector<float> mel;     // [frames, mels]: log(|STFT| . mel filters + mel_floor)
  std::vector<uint8_t> mask;  // [frames], 1 = valid
};

// Periodic Hann window over frame_length samples, the signal left-padded by frame_length / 2, FFT of
// fft_length, magnitudes (not power), HTK-scale triangular mel filters without area normalisation.
AudioFeatures log_mel_features(const float* samples, int64_t count, const AudioFeatureOptions& options = {});

// RIFF/WAVE with PCM 8/16/24/32-bit or IEEE float 32/64-bit samples; channels are averaged to mono and
// scaled to [-1, 1]. Throws gemma4::Error naming the file and what is wrong.
std::vector<float> load_wav(const std::string& path, int64_t* sample_rate);
// The same from bytes in memory (`what` names them in errors).
std::vector<float> decode_wav(const uint8_t* data, size_t size, const std::string& what, int64_t* sample_rate);

}  // namespace gemma4
