// The Ctrl-C flag of gemma4/finetune.h: a SIGINT handler that only sets an atomic flag (async-signal-safe);
// the training loop reads it between steps.
#include <gemma4/finetune.h>

#include <csignal>

namespace gemma4 {

const std::atomic<bool>* stop_on_sigint() {
  static std::atomic<bool> flag{false};
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = [](int) { flag.store(true); };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    return true;
  }();
  (void)installed;
  return &flag;
}

}  // namespace gemma4
