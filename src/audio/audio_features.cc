// Log-mel features (keras-hub keras_hub/src/models/gemma4/gemma4_audio_converter.py, checked against KerasHub's converter fixture) and a small
// WAV reader. The FFT is a plain radix-2 transform in double; fft_length must be a power of two.
#include <gemma4/audio_features.h>
#include <gemma4/error.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/file_io.h"

namespace gemma4 {
namespace {

constexpr double kPi = 3.14159265358979323846;

void fft_in_place(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const std::complex<double> step = std::polar(1.0, -2.0 * kPi / static_cast<double>(len));
    for (size_t start = 0; start < n; start += len) {
      std::complex<double> w = 1.0;
      for (size_t k = 0; k < len / 2; ++k) {
        const std::complex<double> even = a[start + k];
        const std::complex<double> odd = a[start + k + len / 2] * w;
        a[start + k] = even + odd;
        a[start + k + len / 2] = even - odd;
        w *= step;
      }
    }
  }
}

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// [bins, mels]: triangles between num_mels + 2 points equally spaced on the mel scale, evaluated at the
// FFT bin frequencies k * rate / fft_length.
std::vector<double> mel_filters(const AudioFeatureOptions& o) {
  const int64_t bins = o.fft_length / 2 + 1;
  std::vector<double> points(static_cast<size_t>(o.num_mels + 2));
  const double low = hz_to_mel(o.min_frequency), high = hz_to_mel(o.max_frequency);
  for (int64_t i = 0; i < o.num_mels + 2; ++i) {
    points[i] = mel_to_hz(low + (high - low) * static_cast<double>(i) / static_cast<double>(o.num_mels + 1));
  }
  std::vector<double> filters(static_cast<size_t>(bins * o.num_mels), 0.0);
  for (int64_t k = 0; k < bins; ++k) {
    const double f = static_cast<double>(k) * static_cast<double>(o.sampling_rate) / static_cast<double>(o.fft_length);
    for (int64_t m = 0; m < o.num_mels; ++m) {
      const double rise = (f - points[m]) / (points[m + 1] - points[m]);
      const double fall = (points[m + 2] - f) / (points[m + 2] - points[m + 1]);
      filters[k * o.num_mels + m] = std::max(0.0, std::min(rise, fall));
    }
  }
  return filters;
}

template <typename T>
T read_le(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

}  // namespace

AudioFeatures log_mel_features(const float* samples, int64_t count, const AudioFeatureOptions& o) {
  if (o.fft_length <= 0 || (o.fft_length & (o.fft_length - 1)) != 0) {
    throw Error("audio features: fft_length " + std::to_string(o.fft_length) + " is not a power of two");
  }
  if (o.frame_length <= 0 || o.frame_length > o.fft_length || o.hop_length <= 0 || o.num_mels <= 0 ||
      o.sampling_rate <= 0 || o.max_seconds <= 0 || !(o.max_frequency > o.min_frequency)) {
    throw Error("audio features: frame, hop, mel and rate settings must be positive (frame_length <= fft_length)");
  }
  const int64_t total = static_cast<int64_t>(std::llround(o.max_seconds * static_cast<double>(o.sampling_rate)));
  const int64_t pad = o.frame_length / 2;
  // The clip cut or zero-padded to `total` samples, behind `pad` zeros.
  std::vector<double> signal(static_cast<size_t>(pad + total + o.frame_length), 0.0);
  for (int64_t i = 0; i < std::min(count, total); ++i) signal[pad + i] = samples[i];

  AudioFeatures out;
  out.frames = total / o.hop_length;
  out.valid_frames = std::min(out.frames, count / o.hop_length);
  out.mels = o.num_mels;
  out.mel.resize(static_cast<size_t>(out.frames * o.num_mels));
  out.mask.resize(static_cast<size_t>(out.frames));
  const std::vector<double> filters = mel_filters(o);
  const int64_t bins = o.fft_length / 2 + 1;
  std::vector<double> window(static_cast<size_t>(o.frame_length));
  for (int64_t n = 0; n < o.frame_length; ++n) {
    window[n] = 0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(n) / static_cast<double>(o.frame_length));
  }
  std::vector<std::complex<double>> spectrum(static_cast<size_t>(o.fft_length));
  std::vector<double> magnitude(static_cast<size_t>(bins));
  for (int64_t frame = 0; frame < out.frames; ++frame) {
    std::fill(spectrum.begin(), spectrum.end(), 0.0);
    for (int64_t n = 0; n < o.frame_length; ++n) spectrum[n] = signal[frame * o.hop_length + n] * window[n];
    fft_in_place(spectrum);
    for (int64_t k = 0; k < bins; ++k) magnitude[k] = std::abs(spectrum[k]);
    for (int64_t m = 0; m < o.num_mels; ++m) {
      double energy = 0.0;
      for (int64_t k = 0; k < bins; ++k) energy += magnitude[k] * filters[k * o.num_mels + m];
      out.mel[frame * o.num_mels + m] = static_cast<float>(std::log(energy + o.mel_floor));
    }
    out.mask[frame] = frame < out.valid_frames ? 1 : 0;
  }
  return out;
}

std::vector<float> load_wav(const std::string& path, int64_t* sample_rate) {
  const std::string bytes = read_file(path);
  return decode_wav(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, sample_rate);
}

std::vector<float> decode_wav(const uint8_t* raw, size_t size, const std::string& path, int64_t* sample_rate) {
  const std::vector<uint8_t> bytes(raw, raw + size);
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    throw Error(path + ": not a WAV file (no RIFF/WAVE header)");
  }
  uint16_t format = 0, channels = 0, bits = 0;
  uint32_t rate = 0;
  const uint8_t* data = nullptr;
  size_t data_size = 0;
  for (size_t at = 12; at + 8 <= bytes.size();) {  // chunks: 4-byte id, 4-byte size, payload (padded to even)
    const uint32_t size = read_le<uint32_t>(bytes.data() + at + 4);
    const uint8_t* body = bytes.data() + at + 8;
    const size_t available = bytes.size() - (at + 8);
    if (std::memcmp(bytes.data() + at, "fmt ", 4) == 0) {
      if (size < 16 || available < 16) throw Error(path + ": truncated WAV fmt chunk");
      format = read_le<uint16_t>(body);
      channels = read_le<uint16_t>(body + 2);
      rate = read_le<uint32_t>(body + 4);
      bits = read_le<uint16_t>(body + 14);
      if (format == 0xFFFE) {  // WAVE_FORMAT_EXTENSIBLE: the real format opens the sub-format GUID at byte 24
        if (size < 26 || available < 26) throw Error(path + ": truncated WAVE_FORMAT_EXTENSIBLE fmt chunk");
        format = read_le<uint16_t>(body + 24);
      }
    } else if (std::memcmp(bytes.data() + at, "data", 4) == 0) {
      data = body;
      data_size = std::min<size_t>(size, available);
    }
    at += 8 + static_cast<size_t>(size) + (size & 1);
  }
  if (channels == 0 || rate == 0) throw Error(path + ": WAV file without a valid fmt chunk");
  if (data == nullptr) throw Error(path + ": WAV file without a data chunk");
  const bool pcm = format == 1 && (bits == 8 || bits == 16 || bits == 24 || bits == 32);
  const bool floating = format == 3 && (bits == 32 || bits == 64);
  if (!pcm && !floating) {
    throw Error(path + ": unsupported WAV sample format " + std::to_string(format) + " with " + std::to_string(bits) +
                " bits (PCM 8/16/24/32-bit and float 32/64-bit are read)");
  }
  const size_t bytes_per_sample = bits / 8;
  const size_t frames = data_size / (bytes_per_sample * channels);
  // Gemma 4's audio encoder takes clips of up to 30 s; a clip far longer is refused before it is decoded
  // (2^25 frames: 35 minutes at 16 kHz, 11.6 minutes at 48 kHz).
  constexpr size_t kMaxFrames = size_t{1} << 25;
  if (frames > kMaxFrames) {
    throw Error(path + ": WAV clip of " + std::to_string(frames) + " frames is longer than the limit of " +
                std::to_string(kMaxFrames) + " frames");
  }
  std::vector<float> mono(frames, 0.0f);
  for (size_t f = 0; f < frames; ++f) {
    double sum = 0.0;
    for (size_t c = 0; c < channels; ++c) {
      const uint8_t* p = data + (f * channels + c) * bytes_per_sample;
      double v = 0.0;
      if (floating) {
        v = bits == 32 ? read_le<float>(p) : read_le<double>(p);
      } else if (bits == 8) {
        v = (static_cast<double>(p[0]) - 128.0) / 128.0;  // 8-bit WAV is unsigned
      } else if (bits == 16) {
        v = read_le<int16_t>(p) / 32768.0;
      } else if (bits == 24) {
        const int32_t raw = static_cast<int32_t>(static_cast<uint32_t>(p[0]) << 8 | static_cast<uint32_t>(p[1]) << 16 |
                                                 static_cast<uint32_t>(p[2]) << 24);
        v = (raw >> 8) / 8388608.0;
      } else {
        v = read_le<int32_t>(p) / 2147483648.0;
      }
      sum += v;
    }
    mono[f] = static_cast<float>(sum / channels);
  }
  if (sample_rate) *sample_rate = rate;
  return mono;
}

}  // namespace gemma4
