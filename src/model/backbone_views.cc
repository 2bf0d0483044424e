// Read-only looks inside a Backbone for callers outside the library: the stored embedding matrix as a view
// (the Python package's zero-copy token_embedding.embeddings) and the encoders' configs (input shapes).
#include <gemma4/audio.h>
#include <gemma4/backbone.h>
#include <gemma4/vision.h>

#include "core/dtype.h"
#include "model/backbone_parts.h"

namespace gemma4 {

WeightView Backbone::token_embedding() const {
  const TensorView& embedding = parts_->text->weights().embed_tokens;
  WeightView view;
  view.data = embedding.data;
  view.shape.assign(embedding.shape.begin(), embedding.shape.end());
  view.dtype = dtype_name(embedding.dtype);
  view.nbytes = embedding.nbytes;
  return view;
}

const VisionConfig* Backbone::vision_config() const { return parts_->vision ? &parts_->vision->config() : nullptr; }

const AudioConfig* Backbone::audio_config() const { return parts_->audio ? &parts_->audio->config() : nullptr; }

}  // namespace gemma4
