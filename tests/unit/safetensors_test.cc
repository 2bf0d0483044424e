// Safetensors loading: layouts (single, sharded, multimodal prefix, tied head), storage types, and a clear
// error for each malformed input.
#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/model_folder.h"
#include "formats/safetensors.h"
#include "loading/random_weights.h"
#include "schema/tensor_names.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class TempFolder {
 public:
  TempFolder() {
    path_ = fs::temp_directory_path() / ("gemma4_st_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

Gemma4Config small_config() {
  Gemma4Config c;
  c.vocabulary_size = 64;
  c.num_layers = 4;
  c.num_query_heads = 2;
  c.num_key_value_heads = 1;
  c.hidden_dim = 16;
  c.intermediate_dim = 32;
  c.head_dim = 8;
  c.layer_types = {LayerType::kSliding, LayerType::kFull, LayerType::kSliding, LayerType::kFull};
  c.num_kv_shared_layers = 2;
  c.sliding_window_size = 4;
  return c;
}

std::vector<float> logits_of(const std::string& folder) {
  BackboneInputs inputs;
  inputs.token_ids = {2, 5, 9, 33, 1, 60};
  inputs.sequence_length = 6;
  return Backbone::from_folder(folder)->forward(inputs).logits;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Raw safetensors bytes from a header object and a data blob.
void write_raw(const fs::path& path, const json& header, const std::string& data) {
  const std::string text = header.dump();
  const uint64_t size = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << text << data;
}

TEST(Safetensors, StorageTypesAndLayoutsGiveTheSameModel) {
  const Gemma4Config config = small_config();
  TempFolder f32, bf16, multimodal, sharded, extra_kv;
  auto weights = make_random_weights(config, 5, DType::F32);
  write_hf_folder(f32.path().string(), config, *weights);
  write_hf_folder(bf16.path().string(), config, *make_random_weights(config, 5, DType::BF16));
  const auto reference = logits_of(f32.path().string());

  // BF16 storage: the same random draw rounded; the logits move only by that rounding.
  const auto rounded = logits_of(bf16.path().string());
  double worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) worst = std::max(worst, double(std::abs(rounded[i] - reference[i])));
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, 0.5);

  // Gemma4ForConditionalGeneration names ("model.language_model.") and an explicit lm_head.weight.
  std::vector<NamedTensor> renamed;
  for (const auto& expected : expected_text_tensors(config)) {
    renamed.push_back({"model.language_model." + expected.name, weights->find(expected.name)->view});
  }
  renamed.push_back({"lm_head.weight", weights->find("embed_tokens.weight")->view});
  fs::copy(f32.path() / "config.json", multimodal.path() / "config.json");
  write_safetensors((multimodal.path() / "model.safetensors").string(), renamed);
  EXPECT_EQ(logits_of(multimodal.path().string()), reference);

  // Sharded: two files and an index.
  std::vector<NamedTensor> first(renamed.begin(), renamed.begin() + renamed.size() / 2);
  std::vector<NamedTensor> second(renamed.begin() + renamed.size() / 2, renamed.end() - 1);  // tied head dropped
  write_safetensors((sharded.path() / "model-00001-of-00002.safetensors").string(), first);
  write_safetensors((sharded.path() / "model-00002-of-00002.safetensors").string(), second);
  json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
  for (const auto& t : first) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : second) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
  std::ofstream(sharded.path() / "model.safetensors.index.json") << index.dump();
  fs::copy(f32.path() / "config.json", sharded.path() / "config.json");
  EXPECT_EQ(logits_of(sharded.path().string()), reference);

  // k/v projections present on KV-shared layers (as some real checkpoints have) are ignored.
  std::vector<NamedTensor> with_extra = renamed;
  with_extra.push_back({"model.language_model.layers.3.self_attn.k_proj.weight", weights->find("layers.1.self_attn.k_proj.weight")->view});
  fs::copy(f32.path() / "config.json", extra_kv.path() / "config.json");
  write_safetensors((extra_kv.path() / "model.safetensors").string(), with_extra);
  EXPECT_EQ(logits_of(extra_kv.path().string()), reference);
}

TEST(Safetensors, WeightsAreMappedNotCopied) {
  const Gemma4Config config = small_config();
  TempFolder folder;
  write_hf_folder(folder.path().string(), config, *make_random_weights(config, 1, DType::BF16));
  auto source = std::make_shared<WeightSource>(read_safetensors_folder(folder.path().string()));
  const SourceTensor* q = source->find("layers.0.self_attn.q_proj.weight");
  ModelWeights weights = bind_weights(config, source);
  EXPECT_EQ(weights.layers[0].q_proj.data, q->view.data);  // the bound matrix points into the mapping
  EXPECT_EQ(weights.layers[0].q_proj.dtype, DType::BF16);
}

TEST(Safetensors, MalformedFilesGiveClearErrors) {
  TempFolder folder;
  const fs::path file = folder.path() / "bad.safetensors";
  auto read = [&] {
    WeightSource source;
    read_safetensors_file(file.string(), source);
  };
  const std::string eight(32, '\0');

  write_raw(file, {{"a", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}}}, eight.substr(0, 8));
  EXPECT_NE(error_of(read).find("fall outside"), std::string::npos) << error_of(read);  // truncated data

  write_raw(file, {{"a", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 12}}}}}, eight);
  EXPECT_NE(error_of(read).find("needs 16"), std::string::npos) << error_of(read);  // size vs shape

  write_raw(file, {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                   {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}},
            eight);
  EXPECT_NE(error_of(read).find("overlap"), std::string::npos) << error_of(read);

  write_raw(file, {{"a", {{"dtype", "Q9"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}}, eight);
  EXPECT_NE(error_of(read).find("unsupported dtype 'Q9'"), std::string::npos) << error_of(read);

  {
    std::ofstream out(file, std::ios::binary);
    const uint64_t huge = 1 << 20;
    out.write(reinterpret_cast<const char*>(&huge), 8);
    out << "{}";
  }
  EXPECT_NE(error_of(read).find("runs past the end"), std::string::npos) << error_of(read);  // truncated header

  {
    std::ofstream out(file, std::ios::binary);
    const uint64_t size = 5;
    out.write(reinterpret_cast<const char*>(&size), 8);
    out << "{oops";
  }
  EXPECT_NE(error_of(read).find("not valid JSON"), std::string::npos) << error_of(read);
  EXPECT_NE(error_of(read).find("bad.safetensors"), std::string::npos);  // every message names the file
}

TEST(Safetensors, MissingOrMisShapedTensorIsNamedInFull) {
  const Gemma4Config config = small_config();
  TempFolder folder;
  auto weights = make_random_weights(config, 2, DType::F32);
  std::vector<NamedTensor> tensors;
  for (const auto& expected : expected_text_tensors(config)) {
    if (expected.name == "layers.2.mlp.up_proj.weight") continue;
    tensors.push_back({"model." + expected.name, weights->find(expected.name)->view});
  }
  write_hf_folder(folder.path().string(), config, *weights);
  write_safetensors((folder.path() / "model.safetensors").string(), tensors);
  const std::string missing = error_of([&] { Backbone::from_folder(folder.path().string()); });
  EXPECT_NE(missing.find("missing tensor 'layers.2.mlp.up_proj.weight' (expected shape [32, 16])"), std::string::npos)
      << missing;

  // A config that disagrees with the tensors: intermediate_dim 32 in the file, 48 in the config.
  write_hf_folder(folder.path().string(), config, *weights);
  json hf = json::parse(std::ifstream(folder.path() / "config.json"));
  hf["intermediate_size"] = 48;
  std::ofstream(folder.path() / "config.json") << hf.dump();
  const std::string shape = error_of([&] { Backbone::from_folder(folder.path().string()); });
  EXPECT_NE(shape.find("'layers.0.mlp.gate_proj.weight' has shape [32, 16] but the config needs [48, 16]"),
            std::string::npos)
      << shape;
}

}  // namespace
}  // namespace gemma4
