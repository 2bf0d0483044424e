// Test tool: renders a Jinja chat template with gemma4's interpreter.
//
//   render_template TEMPLATE CONTEXT.json [--now EPOCH]        rendered text on stdout; errors on stderr, exit 1
//   render_template --batch TEMPLATE CASES.jsonl [--now EPOCH]  one JSON context per input line; writes one
//       JSON line per case to stdout: {"ok": true, "text": "..."} or {"ok": false, "error": "..."}
//       (a template that fails to parse gives {"ok": false, ...} for every case).
#include <gemma4/error.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "text/jinja/jinja.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw gemma4::Error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  bool batch = false;
  std::optional<std::time_t> now;
  std::string paths[2];
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch") batch = true;
    else if (a == "--now" && i + 1 < argc) now = static_cast<std::time_t>(std::stoll(argv[++i]));
    else if (n < 2) paths[n++] = a;
  }
  if (n != 2) {
    std::cerr << "usage: render_template [--batch] TEMPLATE CONTEXT [--now EPOCH]\n";
    return 2;
  }
  gemma4::JinjaRenderOptions opt;
  opt.now = now;
  try {
    const std::string source = read_file(paths[0]);
    if (!batch) {
      gemma4::JinjaTemplate tpl(source, paths[0]);
      const auto ctx = nlohmann::ordered_json::parse(read_file(paths[1]));
      std::cout << tpl.render(ctx, opt);
      return 0;
    }
    std::optional<gemma4::JinjaTemplate> tpl;
    std::string parse_error;
    try {
      tpl.emplace(source, paths[0]);
    } catch (const gemma4::Error& e) {
      parse_error = e.what();
    }
    std::ifstream in(paths[1]);
    if (!in) throw gemma4::Error("cannot open " + paths[1]);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::ordered_json result;
      if (!tpl) {
        result = {{"ok", false}, {"error", parse_error}};
      } else {
        try {
          const auto ctx = nlohmann::ordered_json::parse(line);
          result = {{"ok", true}, {"text", tpl->render(ctx, opt)}};
        } catch (const gemma4::Error& e) {
          result = {{"ok", false}, {"error", e.what()}};
        }
      }
      std::cout << result.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "render_template: " << e.what() << "\n";
    return 1;
  }
}
