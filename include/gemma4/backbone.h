// Gemma4Backbone: the text decoder with its weights, run over batches of token sequences.
#pragma once

#include <gemma4/audio_features.h>
#include <gemma4/config.h>
#include <gemma4/image.h>
#include <gemma4/load_options.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {

class LoraTrainingState;
struct VisionConfig;
struct AudioConfig;

struct BackboneInputs {
  int64_t batch_size = 1;
  int64_t sequence_length = 0;
  std::vector<int32_t> token_ids;     // [batch, sequence]
  std::vector<int32_t> padding_mask;  // [batch, sequence], 1 = real token; empty = all real
  std::vector<int32_t> position_ids;  // [batch, sequence]; empty = 0, 1, 2, ...

  // Images (models with a vision encoder), as KerasHub's Gemma4Backbone takes them.
  int64_t images_per_sample = 0;
  int64_t patches_per_image = 0;
  std::vector<float> pixel_values;          // [batch, images, patches, 3 * patch_size^2]
  std::vector<int32_t> pixel_position_ids;  // [batch, images, patches, 2]: (column, row), -1 = padding
  std::vector<int32_t> vision_indices;      // [batch, images * tokens]: where each soft token goes (0 = unused)
  std::vector<int32_t> vision_mask;         // [batch, sequence]: 1 on image soft tokens

  // Audio clips (models with an audio encoder).
  int64_t clips_per_sample = 0;
  int64_t mel_frames = 0;
  std::vector<float> audio_mel;          // [batch, clips, frames, mels]
  std::vector<int32_t> audio_mel_mask;   // [batch, clips, frames]
  std::vector<int32_t> audio_indices;    // [batch, clips * tokens]: where each audio token goes (0 = unused)
};

struct BackboneOutputs {
  std::vector<float> sequence_output;  // [batch, sequence, hidden], after the final norm
  std::vector<float> logits;           // [batch, sequence, vocab], after the final soft-cap
  std::vector<float> hidden_states;    // [layers + 1, batch, sequence, hidden], before the final norm
  std::vector<float> pooled_output;    // [batch, embedding_dim] for embedding models
};

// One weight matrix exactly as the model stores it, for zero-copy views (the Python package's NumPy arrays).
// The bytes belong to the Backbone (a file mapping or a buffer it owns) and live as long as it does.
struct WeightView {
  const void* data = nullptr;
  std::vector<int64_t> shape;  // row-major
  std::string dtype;           // "F32", "BF16", "F16", or a ggml block type ("Q8_0", "Q4_K", ...)
  size_t nbytes = 0;
};

struct ForwardOptions {
  bool compute_logits = true;
  bool keep_hidden_states = false;
};

class Backbone {
 public:
  // Loads any model a user can name: a Hugging Face folder, a KerasHub preset folder, a GGUF file,
  // "builtin:tiny", a named preset or a kaggle:// / hf:// handle in the local caches (see gemma4/preset.h),
  // with the options of gemma4/load_options.h (LoRA, dtype, quantize-on-load, overrides, threads).
  static std::unique_ptr<Backbone> load(const std::string& model, const LoadOptions& options = {});
  // load(folder) with LoRA adapters merged (PEFT folders or KerasHub .lora.h5 files; see gemma4/lora.h).
  static std::unique_ptr<Backbone> from_folder(const std::string& folder,
                                               const std::vector<std::string>& lora_adapters = {});
  // The architecture of `config` with seeded random weights (no file is read).
  static std::unique_ptr<Backbone> from_config(const Gemma4Config& config, uint64_t seed);
  // The same with the other load options applied (options.seed; LoRA adapters, dtype, quantize; load_weights is
  // ignored: the weights are always random).
  static std::unique_ptr<Backbone> from_config(const Gemma4Config& config, const LoadOptions& options);

  // The text model and any encoders; defined inside the library (model/backbone_parts.h), which builds them.
  struct Parts;
  explicit Backbone(std::unique_ptr<Parts> parts);
  ~Backbone();
  const Parts& parts() const { return *parts_; }

  const Gemma4Config& config() const;
  // Parameters of the text backbone, counted as KerasHub counts them.
  int64_t parameter_count() const;

  BackboneOutputs forward(const BackboneInputs& inputs, const ForwardOptions& options = {}) const;

  // The token embedding matrix [vocabulary_size, hidden_dim] as stored (KerasHub's token_embedding.embeddings).
  WeightView token_embedding() const;
  // The encoders' configs (gemma4/vision.h, gemma4/audio.h); null when the model has no such encoder.
  const VisionConfig* vision_config() const;
  const AudioConfig* audio_config() const;

  // Models with a vision encoder: the converter settings that fit it (its patch size and pooling; the
  // released 280-token budget), and one image's soft tokens as embedding rows [image.soft_tokens, hidden],
  // scaled exactly as forward() places them in the sequence. Throws if the model has no vision encoder.
  bool has_vision() const;
  ImageConverterOptions image_converter_options() const;
  std::vector<float> image_embeddings(const ImagePatches& image) const;
  // Models with an audio encoder: the number of soft tokens a clip makes (ceil(valid frames / 4), at least
  // one), and those tokens as embedding rows [audio_tokens(clip), hidden]. As KerasHub's preprocessor
  // does, only the first 4 x tokens mel frames go through the encoder.
  bool has_audio() const;
  // A decoded image / mono clip converted for this model's encoders (image_to_patches with
  // image_converter_options(); log-mel frames of 16 kHz audio, other rates refused). `what` names the
  // input in errors. Throws if the model lacks the encoder.
  ImagePatches prepare_image(const Image& image) const;
  AudioFeatures prepare_audio(const std::vector<float>& samples, int64_t sample_rate, const std::string& what) const;
  static int64_t audio_tokens(const AudioFeatures& clip);
  std::vector<float> audio_embeddings(const AudioFeatures& clip) const;

  // KerasHub's Backbone.enable_lora / save_lora_weights / load_lora_weights (gemma4/lora_training.h): trainable
  // float32 adapters kept beside the frozen weights. As in KerasHub, forward() (and generation on this backbone)
  // then uses kernel + (alpha / rank) a @ b: the live values of the state's a and b, read at every pass (b = 0,
  // as enable_lora leaves it, gives exactly the frozen outputs). enable_lora replaces any earlier state;
  // load_lora_weights enables LoRA with the file's rank when it is not enabled yet, else writes into the
  // existing factors. Neither may run while a forward pass does.
  LoraTrainingState& enable_lora(int64_t rank, const std::vector<std::string>& target_layer_names = {});
  LoraTrainingState* lora_state() { return lora_.get(); }
  const LoraTrainingState* lora_state() const { return lora_.get(); }
  // The same state, shared: views into its factors stay valid while the holder keeps it (after a later enable_lora).
  std::shared_ptr<LoraTrainingState> shared_lora_state() const { return lora_; }
  void save_lora_weights(const std::string& path) const;
  void load_lora_weights(const std::string& path);

 private:
  // Soft-token rows [sequence, hidden] and their mask for sample `b` (empty when there is no image/audio).
  void place_soft_tokens(const BackboneInputs& inputs, const std::vector<float>& image_tokens,
                         int64_t image_tokens_each, const std::vector<float>& audio_tokens, int64_t audio_tokens_each,
                         int64_t b, std::vector<float>& rows, std::vector<uint8_t>& mask) const;

  // Encoder outputs -> embedding rows: KerasHub scales them by hidden^-1/2 before placing them and then
  // scales the whole sequence by sqrt(hidden) (both factors as float32).
  void scale_soft_tokens(const float* source, int64_t rows, float* target) const;

  std::unique_ptr<Parts> parts_;
  std::shared_ptr<LoraTrainingState> lora_;  // shared_ptr: its type is complete only where LoRA is defined
};

}  // namespace gemma4
