// Subcommands register themselves here, so adding one is adding one file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace gemma4::cli {

// Adds a subcommand to `app` and sets its callback.
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandEntry {
  std::string name;
  CommandSetup setup;
};

inline std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> entries;
  return entries;
}

struct CommandRegistrar {
  CommandRegistrar(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

}  // namespace gemma4::cli

// Usage in a tools/gemma4/cmd_*.cc file:
//   GEMMA4_REGISTER_COMMAND(tokenize, [](CLI::App& app) { auto* sub = app.add_subcommand(...); ... });
#define GEMMA4_REGISTER_COMMAND(name, setup_fn) \
  static ::gemma4::cli::CommandRegistrar gemma4_command_registrar_##name(#name, setup_fn)
