// Vision and audio encoders from GGUF files reproduce KerasHub's fixtures: llama.cpp's layout (text GGUF +
// mmproj file) and ollama's single file. The files are written by tests/formats/write_gguf_encoders.py with
// gguf-py (independently of this library) and this test is run on them by tests/formats/test_mmproj.sh, which
// sets GEMMA4_GGUF_ENCODERS_DIR; run alone, it is skipped.
#include <gemma4/backbone.h>
#include <gemma4/causal_lm.h>
#include <gemma4/npy.h>
#include <gemma4/tokenizer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(GEMMA4_TEST_DATA) / "kerashub_fixtures" / name; }

fs::path generated(const std::string& name) {
  const char* dir = std::getenv("GEMMA4_GGUF_ENCODERS_DIR");
  return dir ? fs::path(dir) / name : fs::path();
}

template <typename T>
std::vector<T> npy_values(const fs::path& path) {
  const NpyArray array = read_npy(path.string());
  return std::vector<T>(array.values.begin(), array.values.end());
}

// The fixture's inputs, fed exactly as tests/unit/multimodal_test.cc feeds them.
BackboneInputs fixture_inputs(const std::string& name) {
  const fs::path in = fixture(name) / "inputs";
  const NpyArray tokens = read_npy((in / "token_ids.npy").string());
  BackboneInputs inputs;
  inputs.batch_size = tokens.shape[0];
  inputs.sequence_length = tokens.shape[1];
  inputs.token_ids = npy_values<int32_t>(in / "token_ids.npy");
  inputs.padding_mask = npy_values<int32_t>(in / "padding_mask.npy");
  inputs.position_ids = npy_values<int32_t>(in / "position_ids.npy");
  if (fs::exists(in / "pixel_values.npy")) {
    const NpyArray pixels = read_npy((in / "pixel_values.npy").string());
    inputs.images_per_sample = pixels.shape[1];
    inputs.patches_per_image = pixels.shape[2];
    inputs.pixel_values = npy_values<float>(in / "pixel_values.npy");
    inputs.pixel_position_ids = npy_values<int32_t>(in / "pixel_position_ids.npy");
    inputs.vision_indices = npy_values<int32_t>(in / "vision_indices.npy");
    inputs.vision_mask = npy_values<int32_t>(in / "vision_mask.npy");
  }
  if (fs::exists(in / "audio_mel.npy")) {
    const NpyArray mel = read_npy((in / "audio_mel.npy").string());
    inputs.clips_per_sample = mel.shape[1];
    inputs.mel_frames = mel.shape[2];
    inputs.audio_mel = npy_values<float>(in / "audio_mel.npy");
    inputs.audio_mel_mask = npy_values<int32_t>(in / "audio_mel_mask.npy");
    inputs.audio_indices = npy_values<int32_t>(in / "audio_indices.npy");
  }
  return inputs;
}

void expect_close(const std::vector<float>& got, const fs::path& npy, const std::string& label) {
  const NpyArray want = read_npy(npy.string());
  ASSERT_EQ(got.size(), want.values.size()) << npy;
  double scale = 0, worst = 0;
  for (double v : want.values) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want.values[i]));
  std::printf("%s %s: max abs error %.3g, max magnitude %.3g (relative %.3g)\n", label.c_str(),
              npy.filename().string().c_str(), worst, scale, worst / scale);
  EXPECT_LE(worst, 1e-4 * scale) << label << " " << npy;
}

// The vision fixture's model is causal over images (HF use_bidirectional_attention null); a GGUF text model
// does not say, and gemma4.cpp follows llama.cpp's rule (bidirectional unless 1536 or 2560 wide), so the
// test states it, as a user of such a model would.
LoadOptions options_for(const std::string& name) {
  LoadOptions options;
  if (name == "vision") options.overrides["use_vision_bidirectional_attention"] = "false";
  return options;
}

void check_outputs(const Backbone& backbone, const std::string& name, const std::string& label) {
  ASSERT_EQ(backbone.has_vision(), name != "audio") << label;
  ASSERT_EQ(backbone.has_audio(), name != "vision") << label;
  ForwardOptions forward;
  forward.keep_hidden_states = true;
  const BackboneOutputs out = backbone.forward(fixture_inputs(name), forward);
  expect_close(out.hidden_states, fixture(name) / "outputs" / "hidden_states.npy", label);
  expect_close(out.sequence_output, fixture(name) / "outputs" / "sequence_output.npy", label);
  expect_close(out.logits, fixture(name) / "outputs" / "logits.npy", label);
}

class GgufEncoders : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (generated("").empty()) GTEST_SKIP() << "GEMMA4_GGUF_ENCODERS_DIR is not set (tests/formats/test_mmproj.sh sets it)";
  }
};

TEST_P(GgufEncoders, LlamaCppMmprojGivenExplicitly) {
  const std::string name = GetParam();
  LoadOptions options = options_for(name);
  options.mmproj = (generated(name) / "mmproj.gguf").string();
  check_outputs(*Backbone::load((generated(name) / "text.gguf").string(), options), name, name + " (mmproj)");
}

TEST_P(GgufEncoders, LlamaCppMmprojFoundBesideTheModel) {
  const std::string name = GetParam();
  check_outputs(*Backbone::load((generated(name) / "text.gguf").string(), options_for(name)), name,
                name + " (mmproj found beside)");
  LoadOptions none = options_for(name);
  none.mmproj = "none";
  auto text_only = Backbone::load((generated(name) / "text.gguf").string(), none);
  EXPECT_FALSE(text_only->has_vision());
  EXPECT_FALSE(text_only->has_audio());
}

TEST_P(GgufEncoders, OllamaSingleFile) {
  const std::string name = GetParam();
  const std::string ollama = (generated(name) / "ollama" / "model.gguf").string();
  check_outputs(*Backbone::load(ollama, options_for(name)), name, name + " (ollama)");
  // Its tokenizer (model "llama", pre "gemma4") splits text as the llama.cpp-layout file's ("gemma4") does.
  // Only multimodal_all's synthesized vocabulary (384 entries) has pieces and merges beyond the byte tokens.
  if (name != "multimodal_all") return;
  CausalLM::Options lm;
  lm.max_context = 64;
  auto from_ollama = CausalLM::load(ollama, lm);
  lm.mmproj = "none";
  auto from_llama_cpp = CausalLM::load((generated(name) / "text.gguf").string(), lm);
  ASSERT_NE(from_ollama->tokenizer(), nullptr);
  ASSERT_NE(from_llama_cpp->tokenizer(), nullptr);
  for (const char* text : {"ab c", "hello world", "<bos>x\xc3\xa9 z"}) {
    const std::vector<int32_t> ids = from_ollama->tokenizer()->encode(text);
    EXPECT_FALSE(ids.empty()) << text;
    EXPECT_EQ(ids, from_llama_cpp->tokenizer()->encode(text)) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(KerasHub, GgufEncoders, ::testing::Values("vision", "audio", "multimodal_all"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace gemma4
