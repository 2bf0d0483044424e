// Configs and presets: Gemma4Backbone arguments are passed as KerasHub config JSON text, read and validated by
// the library's one KerasHub config reader (so an argument means what it means in a preset's config.json).
#include <gemma4/config.h>
#include <gemma4/preset.h>

#include "bindings.h"

namespace gemma4::python {

void bind_config(py::module_& m) {
  m.def(
      "normalize_config",
      [](const std::string& json_text) {
        return config_to_keras_json(config_from_keras_json(json_text, "Gemma4Backbone arguments"));
      },
      py::arg("config_json"),
      "Reads KerasHub Gemma4Backbone arguments (JSON), validates them and returns every argument (JSON).");

  m.def(
      "apply_config_overrides",
      [](const std::string& config_json, const std::map<std::string, std::string>& overrides) {
        const Gemma4Config config = config_from_keras_json(config_json, "config");
        return config_to_keras_json(apply_config_overrides(config, overrides));
      },
      py::arg("config_json"), py::arg("overrides"));

  m.def(
      "builtin_presets",
      []() {
        py::list out;
        for (const PresetInfo& info : builtin_presets()) {
          py::dict entry;
          entry["name"] = info.name;
          entry["description"] = info.description;
          entry["params"] = info.metadata_params;
          entry["kaggle_handle"] = info.kaggle_handle;
          entry["hf_repo"] = info.hf_repo;
          entry["config"] = config_to_keras_json(info.config);
          entry["has_vision"] = info.vision.has_value();
          entry["has_audio"] = info.audio.has_value();
          out.append(entry);
        }
        return out;
      },
      "The built-in presets (KerasHub's gemma4_presets.py), in KerasHub's order.");

  m.def("resolve_preset_path", &resolve_preset_path, py::arg("preset"),
        "Where a preset lives on disk (a folder or file); raises naming every place looked at.");

  m.def(
      "preset_architecture",
      [](const std::string& preset, const py::dict& options) {
        const LoadOptions load = load_options_from(options);
        const PresetArchitecture arch = architecture_from_preset(preset, load);
        py::dict out;
        out["path"] = arch.path;
        out["config"] = config_to_keras_json(arch.config);
        out["parameter_count"] = arch.parameter_count();
        out["text_parameter_count"] = arch.text_parameter_count();
        out["has_vision"] = arch.vision.has_value();
        out["has_audio"] = arch.audio.has_value();
        return out;
      },
      py::arg("preset"), py::arg("options") = py::dict(),
      "A preset's architecture without weights: its config and parameter counts.");
}

}  // namespace gemma4::python
