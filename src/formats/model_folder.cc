#include "formats/model_folder.h"

#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "model/builtin_model.h"
#include "model/random_weights.h"
#include "model/tensor_names.h"
#include "model/test_tokenizer.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path.string() + "'");
  out << text;
}

}  // namespace

LoadedModel load_model(const std::string& path) {
  if (is_builtin_model(path)) {
    LoadedModel builtin;
    builtin.config = builtin_tiny_config();
    builtin.weights = make_random_weights(builtin.config, /*seed=*/1234, DType::F32, kDemoEmbeddingStd);
    builtin.format = "builtin";
    builtin.tokenizer_json = make_test_tokenizer_json(builtin.config.vocabulary_size);
    return builtin;
  }
  // Not on disk: a preset name or a kaggle:// / hf:// handle, found in the local caches
  // (resolve_preset_path returns an existing path, or throws saying where it looked and how to get it).
  if (!fs::exists(path)) return load_model(resolve_preset_path(path));
  if (fs::is_regular_file(path)) {
    if (is_gguf_file(path)) return load_gguf_model(path);
    throw Error("model path '" + path + "' is a file but not a GGUF file; give a model folder or a .gguf file");
  }
  if (is_keras_preset_folder(path)) return load_keras_preset(path);
  return load_hf_folder(path);
}

LoadedModel load_hf_folder(const std::string& folder) {
  LoadedModel loaded;
  loaded.config = config_from_folder(folder);
  loaded.weights = std::make_shared<WeightSource>(read_safetensors_folder(folder));
  loaded.format = "huggingface";
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    if (fs::exists(fs::path(folder) / name)) {
      loaded.tokenizer = (fs::path(folder) / name).string();
      break;
    }
  }
  return loaded;
}

void write_hf_folder(const std::string& folder, const Gemma4Config& config, const WeightSource& weights) {
  fs::create_directories(folder);
  write_text(fs::path(folder) / "config.json", config_to_hf_json(config));
  std::vector<NamedTensor> text_tensors, dense_1, dense_2;
  for (const auto& expected : expected_text_tensors(config)) {
    const SourceTensor* tensor = weights.find(expected.name);
    if (tensor == nullptr) throw Error("cannot save: tensor '" + expected.name + "' is missing from " + weights.description);
    if (expected.name.rfind("pooling_head.dense_1.", 0) == 0) {
      dense_1.push_back({"linear.weight", tensor->view});
    } else if (expected.name.rfind("pooling_head.dense_2.", 0) == 0) {
      dense_2.push_back({"linear.weight", tensor->view});
    } else {
      text_tensors.push_back({"model." + expected.name, tensor->view});
    }
  }
  write_safetensors((fs::path(folder) / "model.safetensors").string(), text_tensors, {{"format", "pt"}});
  if (config.is_embedding_model) {
    using nlohmann::json;
    const int64_t middle = *config.pooling_intermediate_dim;
    for (const auto& [sub, tensors, in, out] :
         {std::tuple{"2_Dense", &dense_1, config.hidden_dim, middle},
          std::tuple{"3_Dense", &dense_2, middle, *config.embedding_dim}}) {
      fs::create_directories(fs::path(folder) / sub);
      write_safetensors((fs::path(folder) / sub / "model.safetensors").string(), *tensors, {{"format", "pt"}});
      json dense = {{"in_features", in}, {"out_features", out}, {"bias", false},
                    {"activation_function", "torch.nn.modules.linear.Identity"}};
      write_text(fs::path(folder) / sub / "config.json", dense.dump(2));
    }
    fs::create_directories(fs::path(folder) / "1_Pooling");
    write_text(fs::path(folder) / "1_Pooling" / "config.json",
               json({{"word_embedding_dimension", config.hidden_dim}, {"pooling_mode_mean_tokens", true}}).dump(2));
    json modules = json::array();
    const char* types[] = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                           "sentence_transformers.models.Dense", "sentence_transformers.models.Dense",
                           "sentence_transformers.models.Normalize"};
    const char* paths[] = {"", "1_Pooling", "2_Dense", "3_Dense", "4_Normalize"};
    for (int i = 0; i < 5; ++i) {
      modules.push_back({{"idx", i}, {"name", std::to_string(i)}, {"path", paths[i]}, {"type", types[i]}});
    }
    write_text(fs::path(folder) / "modules.json", modules.dump(2));
  }
}

}  // namespace gemma4
