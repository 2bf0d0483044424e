// Gemma4VisionEncoder (KerasHub semantics): patches of an image -> soft tokens in the text space.
//
// pixel values [images, patches, 3*p*p] (in [0, 1], each patch ordered row-in-patch, column-in-patch,
// channel) and positions [images, patches, 2] (x = column, y = row, -1 = padding patch) ->
// [images, patches / pool^2, output_dim], before the backbone's D^-0.5 pre-scale. Everything float32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {


struct VisionConfig {
  int64_t hidden_dim = 768;
  int64_t num_layers = 16;
  int64_t num_heads = 12;
  int64_t num_key_value_heads = 12;
  int64_t head_dim = 64;
  int64_t intermediate_dim = 3072;
  int64_t patch_size = 16;
  int64_t pool_size = 3;
  int64_t position_table_size = 10240;  // rows of each of the two (x, y) position tables
  double rope_wavelength = 100.0;
  float norm_epsilon = 1e-6f;
  bool use_clipped_linears = false;
  bool standardize = false;
  int64_t output_dim = 0;  // the text model's hidden size
};

// The vision encoder config of a model folder's config.json: KerasHub ("vision_encoder" inside the
// backbone config) or Hugging Face ("vision_config", output_dim from text_config.hidden_size).
// Throws if the file has none.
VisionConfig vision_config_from_json(const std::string& config_json_path);
// Whether that config.json describes a vision encoder at all.
bool has_vision_config(const std::string& config_json_path);

struct VisionIntermediates {
  std::vector<float> patch_encoder_output;  // [images, patches, hidden_dim], after the encoder blocks
  std::vector<float> pooled;                // [images, tokens, hidden_dim], pooled and * sqrt(hidden_dim)
};

struct VisionWeights;

class VisionEncoder {
 public:
  // Made by the library's loader, which binds the "vision_tower.*" / "embed_vision.*" tensors of a checkpoint.
  VisionEncoder(const VisionConfig& config, std::unique_ptr<VisionWeights> weights);
  ~VisionEncoder();

  const VisionConfig& config() const { return config_; }
  int64_t tokens_per_image(int64_t patches) const { return patches / (config_.pool_size * config_.pool_size); }

  // Encodes `images` images of `patches` patches each. As in KerasHub, the pooling grid width comes
  // from the largest x position over ALL images of the call, so pass the images of one batch together.
  // Fills `intermediates` when given. Runs on the library's threads (set_num_threads).
  std::vector<float> encode(const float* pixel_values, const int32_t* position_ids, int64_t images,
                            int64_t patches, VisionIntermediates* intermediates = nullptr) const;

 private:
  VisionConfig config_;
  std::unique_ptr<VisionWeights> weights_;
};

}  // namespace gemma4
