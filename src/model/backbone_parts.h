// What a Backbone is made of: the text model and the optional encoders. Only the library sees this; the
// public header names the struct without defining it.
#pragma once

#include <gemma4/audio.h>
#include <gemma4/backbone.h>
#include <gemma4/vision.h>

#include <memory>

#include "model/text_model.h"

namespace gemma4 {

struct Backbone::Parts {
  std::unique_ptr<TextModel> text;
  std::unique_ptr<VisionEncoder> vision;
  std::unique_ptr<AudioEncoder> audio;
};

// A text-only Backbone around a text model made by hand (tests, tools that bind weights themselves).
inline std::unique_ptr<Backbone> text_backbone(std::unique_ptr<TextModel> text) {
  auto parts = std::make_unique<Backbone::Parts>();
  parts->text = std::move(text);
  return std::make_unique<Backbone>(std::move(parts));
}

inline const TextModel& text_model_of(const Backbone& backbone) { return *backbone.parts().text; }

}  // namespace gemma4
