// Config overrides for from_preset(**kwargs): the config is written as a KerasHub Gemma4Backbone config
// object (config_to_keras_json, whose keys are the field list of schema/config_fields.h), the overrides replace
// keys of that object, and the result is read back (and validated) by the one KerasHub config reader, so an
// override means exactly what the same key means in a config.json.
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <nlohmann/json.hpp>

namespace gemma4 {
namespace {

using json = nlohmann::json;

// The smallest period of a layer-type list (5 for E2B's [S,S,S,S,F]x7), so that changing num_layers
// alone can extend or cut the same pattern, as a smaller model of the same family would have.
std::vector<LayerType> resize_pattern(const std::vector<LayerType>& types, int64_t layers) {
  size_t period = types.size();
  for (size_t p = 1; p < types.size(); ++p) {
    bool repeats = true;
    for (size_t i = p; i < types.size() && repeats; ++i) repeats = types[i] == types[i % p];
    if (repeats) {
      period = p;
      break;
    }
  }
  std::vector<LayerType> out;
  for (int64_t i = 0; i < layers; ++i) out.push_back(types[static_cast<size_t>(i) % period]);
  return out;
}

json parse_value(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return json(text);  // a bare word such as bfloat16 is a string
  }
}

}  // namespace

Gemma4Config apply_config_overrides(const Gemma4Config& config, const std::map<std::string, std::string>& overrides) {
  if (overrides.empty()) return config;
  json object = json::parse(config_to_keras_json(config))["config"];
  std::string known;
  for (const auto& [key, value] : object.items()) known += (known.empty() ? "" : ", ") + key;
  for (const auto& [key, text] : overrides) {
    if (!object.contains(key)) {
      throw Error("unknown Gemma4Backbone argument '" + key + "' in the preset overrides; known arguments: " + known);
    }
    object[key] = parse_value(text);
  }
  // Changing only num_layers keeps the layer-type pattern of the preset instead of failing on its length.
  if (overrides.count("num_layers") && !overrides.count("layer_types") && !config.layer_types.empty() &&
      object["num_layers"].is_number_integer()) {
    const std::vector<LayerType> types = resize_pattern(config.layer_types, object["num_layers"].get<int64_t>());
    json list = json::array();
    for (LayerType type : types) list.push_back(layer_type_name(type));
    object["layer_types"] = list;
  }
  Gemma4Config result = config_from_keras_json(object.dump(), "preset overrides");
  // Token ids and the context length are not Gemma4Backbone arguments: keep the preset's.
  result.pad_token_id = config.pad_token_id;
  result.bos_token_id = config.bos_token_id;
  result.eos_token_ids = config.eos_token_ids;
  result.max_position_embeddings = config.max_position_embeddings;
  return result;
}

}  // namespace gemma4
