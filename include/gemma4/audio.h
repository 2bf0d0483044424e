// Gemma4AudioEncoder (KerasHub semantics; a USM conformer): log-mel clips -> soft tokens in the text space.
//
// mel [clips, frames, mels] with a valid-frame mask [clips, frames] -> tokens [clips, T', output_dim] and
// their mask [clips, T'], T' = frames after the two stride-2 sub-sampling convolutions (ceil(ceil(T/2)/2)).
// The tokens are the backbone's audio embeddings before its D^-0.5 pre-scale (the embedder's weightless
// RMSNorm and projection are included). Padded frames are computed too, as in KerasHub, and flagged in
// the mask. Everything float32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {


struct AudioConfig {
  int64_t input_feat_size = 128;  // mel bins
  int64_t hidden_size = 1024;
  int64_t num_heads = 8;
  int64_t num_layers = 12;
  int64_t chunk_size = 12;    // queries per attention block
  int64_t context_left = 13;  // keys seen to the left, the query itself included, plus one (HF's convention)
  int64_t context_right = 0;
  float logit_cap = 50.0f;
  float invalid_logit_value = -1e9f;
  int64_t conv_kernel_size = 5;  // the light conv's causal depthwise kernel
  int64_t reduction_factor = 1;  // time stride after the conformer
  float residual_weight = 0.5f;  // macaron FFW half step
  float gradient_clipping = 1e10f;
  std::vector<int64_t> sscp_conv_channels = {128, 32};
  std::vector<std::vector<int64_t>> sscp_kernel_sizes = {{3, 3}, {3, 3}};  // (time, freq) per conv
  std::vector<std::vector<int64_t>> sscp_stride_sizes = {{2, 2}, {2, 2}};
  int64_t output_proj_dims = 1536;  // 0 = no output_proj
  int64_t output_dim = 0;           // the text model's hidden size
  float norm_eps = 1e-6f;
  float sscp_norm_eps = 1e-6f;
  bool use_clipped_linears = true;

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t max_past_horizon() const { return context_left > 0 ? context_left - 1 : 0; }
};

// The audio encoder config of a model folder's config.json: KerasHub ("audio_encoder" inside the backbone
// config) or Hugging Face ("audio_config", plus the fixtures' "keras_hub_extensions"; output_dim from
// text_config.hidden_size). Throws if the file has none.
AudioConfig audio_config_from_json(const std::string& config_json_path);
// Whether that config.json describes an audio encoder at all.
bool has_audio_config(const std::string& config_json_path);

// Output of the sub-sampling convolutions (after input_proj), for tests and debugging.
struct AudioSubsampled {
  int64_t clips = 0, frames = 0, dim = 0;
  std::vector<float> values;  // [clips, frames, dim]
  std::vector<uint8_t> mask;  // [clips, frames], 1 = valid
};

struct AudioTokens {
  int64_t clips = 0, tokens = 0, dim = 0;
  std::vector<float> values;  // [clips, tokens, dim]
  std::vector<uint8_t> mask;  // [clips, tokens], 1 = valid
};

struct AudioWeights;

class AudioEncoder {
 public:
  // Made by the library's loader, which binds the "audio_tower.*" / "embed_audio.*" tensors of a checkpoint.
  AudioEncoder(const AudioConfig& config, std::unique_ptr<AudioWeights> weights);
  ~AudioEncoder();

  const AudioConfig& config() const { return config_; }
  // Frames left after the sub-sampling convolutions (and the reduction factor, for tokens_per_clip).
  int64_t subsampled_frames(int64_t frames) const;
  int64_t tokens_per_clip(int64_t frames) const;

  // mel [clips, frames, input_feat_size], mel_mask [clips, frames] (nonzero = valid).
  AudioSubsampled subsample(const float* mel, const uint8_t* mel_mask, int64_t clips, int64_t frames) const;
  AudioTokens encode(const float* mel, const uint8_t* mel_mask, int64_t clips, int64_t frames,
                     AudioSubsampled* subsampled = nullptr) const;

 private:
  AudioConfig config_;
  std::unique_ptr<AudioWeights> weights_;
};

}  // namespace gemma4
