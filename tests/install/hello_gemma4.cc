// A program outside the project, built against the installed library only (the umbrella header and
// gemma4::gemma4 / pkg-config): loads the built-in model and greedily generates a few tokens.
#include <gemma4/gemma4.h>

#include <cstdio>

int main() {
  try {
    gemma4::set_num_threads(1);
    auto lm = gemma4::CausalLM::load("builtin:tiny", gemma4::CausalLM::Options{});
    gemma4::GenerationConfig config;
    config.max_new_tokens = 4;
    config.sampling = gemma4::SamplingConfig::greedy();
    const gemma4::GenerationResult result = lm->generate("Hello", config);
    std::printf("generated %zu tokens, stop: %s\n", result.tokens.size(), result.stop_reason.c_str());
    return result.tokens.empty() ? 1 : 0;
  } catch (const gemma4::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
