// gemma4 presets: the built-in presets with their parameter counts and descriptions; where each one
// is on disk; or the parameter count of any preset/folder (architecture only, no weights read).
#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gemma4/preset.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command_registry.h"

namespace {

struct PresetsArgs {
  bool where = false;
  std::string architecture;
  std::vector<std::string> overrides;  // key=value
};

std::string billions(int64_t count) {
  char text[32];
  if (count >= 1000000000) {
    std::snprintf(text, sizeof(text), "%.2fB", static_cast<double>(count) / 1e9);
  } else {
    std::snprintf(text, sizeof(text), "%.1fM", static_cast<double>(count) / 1e6);
  }
  return text;
}

std::map<std::string, std::string> parse_overrides(const std::vector<std::string>& items) {
  std::map<std::string, std::string> overrides;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw gemma4::Error("--set expects key=value (got '" + item + "')");
    overrides[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return overrides;
}

void list_presets(bool where) {
  std::printf("%-36s %10s  %s\n", "preset", "parameters", "description");
  for (const auto& preset : gemma4::builtin_presets()) {
    gemma4::PresetOptions options;
    options.load_weights = false;
    const auto arch = gemma4::architecture_from_preset(preset.name, options);
    std::printf("%-36s %10s  %s\n", preset.name.c_str(), billions(arch.parameter_count()).c_str(),
                preset.description.c_str());
    if (where) {
      std::string location;
      try {
        location = gemma4::resolve_preset_path(preset.name);
      } catch (const gemma4::Error&) {
        location = "not downloaded (" + preset.kaggle_handle + " or hf://" + preset.hf_repo + ")";
      }
      std::printf("%-36s %10s  on disk: %s\n", "", "", location.c_str());
    }
  }
}

// The models inside the library (no download): loaded to count them, which costs nothing (builtin:tiny's random
// weights are made in memory, builtin:small's are viewed where the library embeds them).
void list_builtin_models() {
  const std::pair<const char*, const char*> models[] = {
      {"builtin:tiny", "every text feature, random weights and a synthetic tokenizer: for tests (writes noise)"},
      {"builtin:small", "trained here on the King James Bible (docs/builtin_small.md): writes KJV-style English"}};
  std::printf("\n%-36s %10s  %s\n", "built-in model (no download)", "parameters", "description");
  for (const auto& [name, description] : models) {
    const auto backbone = gemma4::Backbone::load(name);
    std::printf("%-36s %10s  %s\n", name, billions(backbone->parameter_count()).c_str(), description);
  }
}

void show_architecture(const std::string& preset, const std::map<std::string, std::string>& overrides) {
  gemma4::PresetOptions options;
  options.load_weights = false;
  options.overrides = overrides;
  const auto arch = gemma4::architecture_from_preset(preset, options);
  const int64_t text = arch.text_parameter_count();
  std::printf("preset: %s\n", preset.c_str());
  if (!arch.path.empty()) std::printf("config read from: %s\n", arch.path.c_str());
  auto line = [](const char* what, int64_t count) {
    std::printf("%s parameters: %lld\n", what, static_cast<long long>(count));
  };
  line("text backbone", text);
  if (arch.vision) line("vision encoder", gemma4::count_vision_parameters(*arch.vision));
  if (arch.audio) line("audio encoder", gemma4::count_audio_parameters(*arch.audio));
  if (arch.assistant) {
    line("assistant head", gemma4::count_assistant_head_parameters(*arch.assistant, arch.config.hidden_dim));
  }
  std::printf("total parameters: %lld (%s)\n", static_cast<long long>(arch.parameter_count()),
              billions(arch.parameter_count()).c_str());
}

}  // namespace

GEMMA4_REGISTER_COMMAND(presets, [](CLI::App& app) {
  auto args = std::make_shared<PresetsArgs>();
  auto* sub = app.add_subcommand("presets", "List the built-in presets with parameter counts and descriptions");
  sub->add_flag("--where", args->where, "Also say where each preset is on disk (KaggleHub / Hugging Face caches)");
  sub->add_option("--architecture", args->architecture,
                  "Count the parameters of one preset, handle or folder (no weights are read)");
  sub->add_option("--set", args->overrides, "Gemma4Backbone argument override key=value (with --architecture)");
  sub->callback([args] {
    if (!args->architecture.empty()) {
      show_architecture(args->architecture, parse_overrides(args->overrides));
    } else {
      if (!args->overrides.empty()) throw gemma4::Error("--set needs --architecture");
      list_presets(args->where);
      list_builtin_models();
    }
  });
});
