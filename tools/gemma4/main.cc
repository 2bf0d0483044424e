// gemma4: the command-line front end. Each subcommand lives in its own cmd_*.cc file.
#include <gemma4/error.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "command_registry.h"

int main(int argc, char** argv) {
  CLI::App app{"gemma4.cpp: run Google's Gemma 4 models on a CPU"};
  app.require_subcommand(1);
  auto& commands = gemma4::cli::command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& command : commands) command.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const gemma4::Error& e) {
    std::fprintf(stderr, "gemma4: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gemma4: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
