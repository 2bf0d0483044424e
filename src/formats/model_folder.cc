#include "formats/model_folder.h"

#include <gemma4/error.h>
#include <gemma4/audio.h>
#include <gemma4/vision.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/tokenizer_config.h"
#include "schema/tensor_names.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text); }

}  // namespace

Checkpoint read_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error("model path '" + path + "' does not exist");
  if (fs::is_regular_file(path)) {
    if (is_gguf_file(path)) return read_gguf_checkpoint(path);
    throw Error("model path '" + path + "' is a file but not a GGUF file; give a model folder or a .gguf file");
  }
  if (is_keras_preset_folder(path)) return read_keras_preset(path);
  return read_hf_folder(path);
}

void read_encoder_configs(const std::string& folder, Checkpoint& checkpoint) {
  const std::string config_path = (fs::path(folder) / "config.json").string();
  if (!fs::exists(config_path)) return;
  if (has_vision_config(config_path)) checkpoint.vision = vision_config_from_json(config_path);
  if (has_audio_config(config_path)) checkpoint.audio = audio_config_from_json(config_path);
}

void read_tokenizer_config(const std::string& folder, TokenizerSource& tokenizer) {
  const fs::path path = fs::path(folder) / "tokenizer_config.json";
  if (!fs::exists(path)) return;
  const nlohmann::json config = read_json_file(path.string());
  if (config.is_object() && config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    tokenizer.add_bos = config["add_bos_token"].get<bool>();
  }
}

void read_chat_template(const std::string& folder, TokenizerSource& tokenizer) {
  // transformers saves chat_template.jinja (recent versions), processors chat_template.json, older tokenizers
  // the "chat_template" member of tokenizer_config.json: the first one present wins.
  const fs::path dir(folder);
  if (fs::exists(dir / "chat_template.jinja")) {
    tokenizer.chat_template = read_file((dir / "chat_template.jinja").string());
    tokenizer.chat_template_origin = (dir / "chat_template.jinja").string();
    return;
  }
  for (const char* name : {"chat_template.json", "tokenizer_config.json"}) {
    const fs::path path = dir / name;
    if (!fs::exists(path)) continue;
    std::string text = chat_template_from_tokenizer_config(read_file(path.string()), path.string());
    if (text.empty()) continue;
    tokenizer.chat_template = std::move(text);
    tokenizer.chat_template_origin = path.string();
    return;
  }
}

Checkpoint read_hf_folder(const std::string& folder) {
  Checkpoint checkpoint;
  checkpoint.path = folder;
  checkpoint.format = "huggingface";
  checkpoint.config = config_from_folder(folder);
  checkpoint.weights = std::make_shared<WeightSource>(read_safetensors_folder(folder));
  read_encoder_configs(folder, checkpoint);
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    if (fs::exists(fs::path(folder) / name)) {
      checkpoint.tokenizer.file = (fs::path(folder) / name).string();
      break;
    }
  }
  read_chat_template(folder, checkpoint.tokenizer);
  read_tokenizer_config(folder, checkpoint.tokenizer);
  return checkpoint;
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
