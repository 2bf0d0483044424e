#include <gemma4/backbone.h>
#include <gemma4/error.h>

#include <gemma4/audio.h>
#include <gemma4/vision.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "schema/tensor_names.h"
#include "model/backbone_parts.h"
#include "model/text_model.h"

namespace gemma4 {

Backbone::Backbone(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {
  if (parts_ == nullptr || parts_->text == nullptr) throw Error("a Backbone needs a text model");
}
Backbone::~Backbone() = default;

bool Backbone::has_vision() const { return parts_->vision != nullptr; }
bool Backbone::has_audio() const { return parts_->audio != nullptr; }

const Gemma4Config& Backbone::config() const { return parts_->text->config(); }

int64_t Backbone::parameter_count() const { return count_text_parameters(parts_->text->config()); }

BackboneOutputs Backbone::forward(const BackboneInputs& inputs, const ForwardOptions& options) const {
  const Gemma4Config& config = parts_->text->config();
  const int64_t batch = inputs.batch_size;
  const int64_t length = inputs.sequence_length;
  const int64_t width = config.hidden_dim;
  const size_t cells = static_cast<size_t>(batch * length);
  if (batch <= 0 || length <= 0) throw Error("forward needs a batch of at least one non-empty sequence");
  if (inputs.token_ids.size() != cells) {
    throw Error("token_ids holds " + std::to_string(inputs.token_ids.size()) + " ids but batch_size x sequence_length = " +
                std::to_string(cells));
  }
  if (!inputs.padding_mask.empty() && inputs.padding_mask.size() != cells) {
    throw Error("padding_mask holds " + std::to_string(inputs.padding_mask.size()) + " entries, expected " +
                std::to_string(cells));
  }
  if (!inputs.position_ids.empty() && inputs.position_ids.size() != cells) {
    throw Error("position_ids holds " + std::to_string(inputs.position_ids.size()) + " entries, expected " +
                std::to_string(cells));
  }

  BackboneOutputs outputs;
  outputs.sequence_output.resize(cells * width);
  if (options.compute_logits) outputs.logits.resize(cells * config.vocabulary_size);
  if (options.keep_hidden_states) outputs.hidden_states.resize((config.num_layers + 1) * cells * width);
  if (config.is_embedding_model) outputs.pooled_output.resize(static_cast<size_t>(batch * *config.embedding_dim));

  // Images and audio clips of the whole batch are encoded together (KerasHub's pooling grid spans the batch).
  std::vector<float> image_tokens, audio_tokens;
  int64_t image_tokens_each = 0, audio_tokens_each = 0;
  if (!inputs.pixel_values.empty()) {
    if (!parts_->vision) throw Error("the input has images but this model has no vision encoder");
    const int64_t images = batch * inputs.images_per_sample;
    image_tokens = parts_->vision->encode(inputs.pixel_values.data(), inputs.pixel_position_ids.data(), images,
                                   inputs.patches_per_image);
    image_tokens_each = parts_->vision->tokens_per_image(inputs.patches_per_image);
  }
  if (!inputs.audio_mel.empty()) {
    if (!parts_->audio) throw Error("the input has audio but this model has no audio encoder");
    std::vector<uint8_t> mel_mask(inputs.audio_mel_mask.begin(), inputs.audio_mel_mask.end());
    AudioTokens encoded = parts_->audio->encode(inputs.audio_mel.data(), mel_mask.data(), batch * inputs.clips_per_sample,
                                         inputs.mel_frames);
    audio_tokens = std::move(encoded.values);
    audio_tokens_each = encoded.tokens;
  }

  for (int64_t b = 0; b < batch; ++b) {
    const size_t offset = static_cast<size_t>(b * length);
    std::vector<float> soft_rows;
    std::vector<uint8_t> soft_mask;
    place_soft_tokens(inputs, image_tokens, image_tokens_each, audio_tokens, audio_tokens_each, b, soft_rows, soft_mask);
    // Vision blocks for bidirectional image attention: a new id at each run of image tokens.
    std::vector<int32_t> vision_groups;
    if (config.use_vision_bidirectional_attention && !inputs.vision_mask.empty()) {
      vision_groups.assign(static_cast<size_t>(length), 0);
      int32_t group = 0;
      for (int64_t t = 0; t < length; ++t) {
        const bool image = inputs.vision_mask[offset + t] != 0;
        if (image && (t == 0 || inputs.vision_mask[offset + t - 1] == 0)) ++group;
        vision_groups[t] = image ? group : 0;
      }
    }
    std::vector<uint8_t> valid(static_cast<size_t>(length), 1);
    if (!inputs.padding_mask.empty()) {
      for (int64_t t = 0; t < length; ++t) valid[t] = inputs.padding_mask[offset + t] != 0;
    }
    ChunkInput chunk;
    chunk.token_ids = inputs.token_ids.data() + offset;
    chunk.position_ids = inputs.position_ids.empty() ? nullptr : inputs.position_ids.data() + offset;
    chunk.valid = valid.data();
    chunk.length = length;
    if (!soft_mask.empty()) {
      chunk.embedding_overrides = soft_rows.data();
      chunk.embedding_override_mask = soft_mask.data();
    }
    if (!vision_groups.empty()) chunk.vision_groups = vision_groups.data();
    KvCache cache(config, length, length);
    float* sequence_output = outputs.sequence_output.data() + offset * width;
    auto keep = [&](int64_t layer, const float* hidden) {
      float* target = outputs.hidden_states.data() + (static_cast<size_t>(layer + 1) * cells + offset) * width;
      std::copy_n(hidden, length * width, target);
    };
    parts_->text->forward_chunk(chunk, cache, sequence_output,
                          options.keep_hidden_states ? std::function<void(int64_t, const float*)>(keep) : nullptr);
    if (options.compute_logits) {
      parts_->text->logits(sequence_output, length, outputs.logits.data() + offset * config.vocabulary_size);
    }
    if (config.is_embedding_model) {
      auto pooled = parts_->text->pool(sequence_output, valid.data(), length);
      std::copy(pooled.begin(), pooled.end(), outputs.pooled_output.begin() + b * *config.embedding_dim);
    }
  }
  return outputs;
}

void Backbone::place_soft_tokens(const BackboneInputs& inputs, const std::vector<float>& image_tokens,
                                 int64_t image_tokens_each, const std::vector<float>& audio_tokens,
                                 int64_t audio_tokens_each, int64_t b, std::vector<float>& rows,
                                 std::vector<uint8_t>& mask) const {
  const int64_t width = parts_->text->config().hidden_dim;
  const int64_t length = inputs.sequence_length;
  auto place = [&](const std::vector<float>& tokens, int64_t tokens_each, int64_t items_per_sample,
                   const std::vector<int32_t>& indices, const char* what) {
    if (tokens.empty()) return;
    const int64_t slots = static_cast<int64_t>(indices.size()) / inputs.batch_size;
    const int64_t per_item = slots / items_per_sample;  // soft tokens of each image / clip that are placed
    if (per_item > tokens_each) {
      throw Error(std::string(what) + " indices hold " + std::to_string(per_item) + " slots per item but the encoder gives " +
                  std::to_string(tokens_each) + " tokens");
    }
    if (rows.empty()) {
      rows.assign(static_cast<size_t>(length * width), 0.0f);
      mask.assign(static_cast<size_t>(length), 0);
    }
    for (int64_t slot = 0; slot < slots; ++slot) {
      const int32_t position = indices[b * slots + slot];
      if (position == 0) continue;  // unused slot: position 0 keeps its text embedding
      if (position < 0 || position >= length) {
        throw Error(std::string(what) + " index " + std::to_string(position) + " is outside the sequence of " +
                    std::to_string(length));
      }
      const int64_t item = b * items_per_sample + slot / per_item;
      const float* source = tokens.data() + (item * tokens_each + slot % per_item) * width;
      scale_soft_tokens(source, 1, rows.data() + position * width);
      mask[position] = 1;
    }
  };
  place(image_tokens, image_tokens_each, inputs.images_per_sample, inputs.vision_indices, "vision");
  place(audio_tokens, audio_tokens_each, inputs.clips_per_sample, inputs.audio_indices, "audio");
}

void Backbone::scale_soft_tokens(const float* source, int64_t rows, float* target) const {
  const int64_t width = parts_->text->config().hidden_dim;
  const float pre_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(width)));
  const float post_scale = parts_->text->embedding_scale();
  for (int64_t i = 0; i < rows * width; ++i) target[i] = (source[i] * pre_scale) * post_scale;
}

ImageConverterOptions Backbone::image_converter_options() const {
  if (!parts_->vision) throw Error("this model has no vision encoder: it cannot take images");
  ImageConverterOptions options;
  options.patch_size = parts_->vision->config().patch_size;
  options.pooling_kernel_size = parts_->vision->config().pool_size;
  return options;
}

std::vector<float> Backbone::image_embeddings(const ImagePatches& image) const {
  if (!parts_->vision) throw Error("this model has no vision encoder: it cannot take images");
  const VisionConfig& vision = parts_->vision->config();
  const int64_t patch_width = 3 * vision.patch_size * vision.patch_size;
  if (image.max_patches <= 0 || image.pixel_values.size() != static_cast<size_t>(image.max_patches * patch_width) ||
      image.positions.size() != static_cast<size_t>(image.max_patches * 2)) {
    throw Error("image patches do not fit this model's vision encoder (patches of " + std::to_string(patch_width) +
                " values expected; convert the image with image_converter_options())");
  }
  const int64_t tokens_each = parts_->vision->tokens_per_image(image.max_patches);
  if (image.soft_tokens <= 0 || image.soft_tokens > tokens_each) {
    throw Error("image has " + std::to_string(image.soft_tokens) + " soft tokens; its " +
                std::to_string(image.max_patches) + " patches make at most " + std::to_string(tokens_each));
  }
  const std::vector<float> encoded = parts_->vision->encode(image.pixel_values.data(), image.positions.data(), 1, image.max_patches);
  std::vector<float> rows(static_cast<size_t>(image.soft_tokens * parts_->text->config().hidden_dim));
  scale_soft_tokens(encoded.data(), image.soft_tokens, rows.data());
  return rows;
}

ImagePatches Backbone::prepare_image(const Image& image) const {
  return image_to_patches(image, image_converter_options());
}

AudioFeatures Backbone::prepare_audio(const std::vector<float>& samples, int64_t sample_rate,
                                      const std::string& what) const {
  if (!parts_->audio) throw Error("this model has no audio encoder: it cannot take audio");
  const AudioFeatureOptions options;
  if (sample_rate != options.sampling_rate) {
    throw Error(what + " is sampled at " + std::to_string(sample_rate) + " Hz; Gemma 4 takes " +
                std::to_string(options.sampling_rate) + " Hz audio (e.g. sox IN -r 16000 OUT.wav)");
  }
  return log_mel_features(samples.data(), static_cast<int64_t>(samples.size()), options);
}

int64_t Backbone::audio_tokens(const AudioFeatures& clip) {
  return std::max<int64_t>(1, (clip.valid_frames + 3) / 4);
}

std::vector<float> Backbone::audio_embeddings(const AudioFeatures& clip) const {
  if (!parts_->audio) throw Error("this model has no audio encoder: it cannot take audio");
  if (clip.mels != parts_->audio->config().input_feat_size || clip.mel.size() != static_cast<size_t>(clip.frames * clip.mels) ||
      clip.mask.size() != static_cast<size_t>(clip.frames)) {
    throw Error("audio features of " + std::to_string(clip.mels) + " mel bins do not fit this model's audio encoder (" +
                std::to_string(parts_->audio->config().input_feat_size) + " expected)");
  }
  const int64_t tokens = audio_tokens(clip);
  const int64_t frames = 4 * tokens;  // may run past the clip's frames by up to 3: those are padding
  std::vector<float> mel(static_cast<size_t>(frames * clip.mels), 0.0f);
  std::vector<uint8_t> mask(static_cast<size_t>(frames), 0);
  const int64_t copied = std::min(frames, clip.frames);
  std::copy_n(clip.mel.begin(), copied * clip.mels, mel.begin());
  std::copy_n(clip.mask.begin(), copied, mask.begin());
  const AudioTokens encoded = parts_->audio->encode(mel.data(), mask.data(), 1, frames);
  if (encoded.tokens < tokens) {
    throw Error("the audio encoder made " + std::to_string(encoded.tokens) + " tokens of " + std::to_string(frames) +
                " frames; " + std::to_string(tokens) + " expected");
  }
  std::vector<float> rows(static_cast<size_t>(tokens * parts_->text->config().hidden_dim));
  scale_soft_tokens(encoded.values.data(), tokens, rows.data());
  return rows;
}

}  // namespace gemma4
