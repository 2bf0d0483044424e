// One loading path: every public way in (Backbone::load, Backbone::from_folder, backbone_from_preset,
// CausalLM::load, and a convert round trip) builds the same model from the same folder: the same encoders and
// bit-identical outputs on KerasHub's multimodal fixture (text + images + audio).
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/convert.h>
#include <gemma4/npy.h>
#include <gemma4/preset.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path fixture() { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / "multimodal_all"; }

template <typename T>
std::vector<T> npy_values(const fs::path& path) {
  const NpyArray array = read_npy(path.string());
  return std::vector<T>(array.values.begin(), array.values.end());
}

BackboneInputs multimodal_inputs() {
  const fs::path in = fixture() / "inputs";
  const NpyArray tokens = read_npy((in / "token_ids.npy").string());
  const NpyArray pixels = read_npy((in / "pixel_values.npy").string());
  const NpyArray mel = read_npy((in / "audio_mel.npy").string());
  BackboneInputs inputs;
  inputs.batch_size = tokens.shape[0];
  inputs.sequence_length = tokens.shape[1];
  inputs.token_ids = npy_values<int32_t>(in / "token_ids.npy");
  inputs.padding_mask = npy_values<int32_t>(in / "padding_mask.npy");
  inputs.position_ids = npy_values<int32_t>(in / "position_ids.npy");
  inputs.images_per_sample = pixels.shape[1];
  inputs.patches_per_image = pixels.shape[2];
  inputs.pixel_values = npy_values<float>(in / "pixel_values.npy");
  inputs.pixel_position_ids = npy_values<int32_t>(in / "pixel_position_ids.npy");
  inputs.vision_indices = npy_values<int32_t>(in / "vision_indices.npy");
  inputs.vision_mask = npy_values<int32_t>(in / "vision_mask.npy");
  inputs.clips_per_sample = mel.shape[1];
  inputs.mel_frames = mel.shape[2];
  inputs.audio_mel = npy_values<float>(in / "audio_mel.npy");
  inputs.audio_mel_mask = npy_values<int32_t>(in / "audio_mel_mask.npy");
  inputs.audio_indices = npy_values<int32_t>(in / "audio_indices.npy");
  return inputs;
}

// What an entry point built: a Backbone, or a CausalLM that owns one.
struct Built {
  std::unique_ptr<Backbone> backbone;
  std::unique_ptr<CausalLM> lm;
  const Backbone& get() const { return lm ? lm->backbone() : *backbone; }
};

struct EntryPoint {
  std::string name;
  std::function<Built(const std::string& folder)> load;
};

std::vector<EntryPoint> entry_points() {
  return {
      {"Backbone::load", [](const std::string& f) { return Built{Backbone::load(f), nullptr}; }},
      {"Backbone::from_folder", [](const std::string& f) { return Built{Backbone::from_folder(f), nullptr}; }},
      {"backbone_from_preset", [](const std::string& f) { return Built{backbone_from_preset(f), nullptr}; }},
      {"CausalLM::load", [](const std::string& f) { return Built{nullptr, CausalLM::load(f, CausalLM::Options{})}; }},
  };
}

BackboneInputs text_inputs() {
  BackboneInputs inputs;
  inputs.token_ids = {2, 5, 9, 11, 3, 17, 4};
  inputs.sequence_length = static_cast<int64_t>(inputs.token_ids.size());
  return inputs;
}

void expect_same_model(const Backbone& reference, const Backbone& other, const std::string& what,
                       const BackboneInputs& inputs, const BackboneOutputs& expected) {
  EXPECT_EQ(other.has_vision(), reference.has_vision()) << what;
  EXPECT_EQ(other.has_audio(), reference.has_audio()) << what;
  EXPECT_EQ(other.parameter_count(), reference.parameter_count()) << what;
  const BackboneOutputs got = other.forward(inputs);
  ASSERT_EQ(got.logits.size(), expected.logits.size()) << what;
  size_t differing = 0;
  for (size_t i = 0; i < got.logits.size(); ++i) differing += got.logits[i] != expected.logits[i];
  EXPECT_EQ(differing, 0u) << what << ": logits differ from Backbone::load's";
}

TEST(Loading, EveryEntryPointBuildsTheSameModel) {
  const BackboneInputs inputs = multimodal_inputs();
  for (const fs::path& folder : {fixture(), fixture() / "keras_preset"}) {
    SCOPED_TRACE(folder.string());
    const auto reference = Backbone::load(folder.string());
    ASSERT_TRUE(reference->has_vision());
    ASSERT_TRUE(reference->has_audio());
    const BackboneOutputs expected = reference->forward(inputs);
    for (const EntryPoint& entry : entry_points()) {
      const Built built = entry.load(folder.string());
      expect_same_model(*reference, built.get(), entry.name, inputs, expected);
    }
    // convert writes the text model as a float32 Hugging Face folder: loading it back gives the same text
    // logits bit for bit (the encoders stay behind: convert writes text checkpoints).
    const fs::path converted = fs::path(testing::TempDir()) / ("loading_hf_" + folder.filename().string());
    fs::remove_all(converted);
    ConvertOptions to_hf;
    to_hf.format = "hf";
    convert_model(folder.string(), converted.string(), to_hf);
    const auto round_trip = Backbone::load(converted.string());
    EXPECT_FALSE(round_trip->has_vision());
    EXPECT_EQ(round_trip->forward(text_inputs()).logits, reference->forward(text_inputs()).logits);
  }
}

TEST(Loading, OptionsApplyTheSameWayEverywhere) {
  // Overrides, dtype and random weights through Backbone::load and backbone_from_preset give one model.
  LoadOptions options;
  options.load_weights = false;
  options.seed = 5;
  options.dtype = "bfloat16";
  options.overrides = {{"final_logit_soft_cap", "12.5"}};
  const std::string folder = (fixture() / "keras_preset").string();
  const auto a = Backbone::load(folder, options);
  const auto b = backbone_from_preset(folder, options);
  EXPECT_EQ(a->config().final_logit_soft_cap.value_or(0), 12.5);
  EXPECT_EQ(a->config().dtype, "bfloat16");
  EXPECT_FALSE(a->has_vision());  // random weights: text only
  EXPECT_EQ(a->forward(text_inputs()).logits, b->forward(text_inputs()).logits);
}

TEST(Loading, QuantizeOnLoadIsAnOptionOfEveryLoader) {
  LoadOptions options;
  options.quantize = "q8_0";
  const std::string folder = fixture().string();
  const auto quantized = Backbone::load(folder, options);
  const auto plain = Backbone::load(folder);
  const auto q = quantized->forward(text_inputs()).logits, f = plain->forward(text_inputs()).logits;
  ASSERT_EQ(q.size(), f.size());
  size_t differing = 0;
  for (size_t i = 0; i < q.size(); ++i) differing += q[i] != f[i];
  EXPECT_GT(differing, 0u) << "q8_0 matrices should change the logits a little";
  options.quantize = "q3_x";
  EXPECT_THROW(Backbone::load(folder, options), Error);
}

}  // namespace
}  // namespace gemma4
