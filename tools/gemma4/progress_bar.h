// The CLI's one-line progress bar on stderr: bytes, rate and ETA for downloads, counts for tensors and
// tokens. Drawn only when stderr is a terminal (never into a pipe or a log file) and not with --quiet.
#pragma once

#include <gemma4/progress.h>

namespace gemma4::cli {

// A callback that draws on stderr, or an empty one (nothing reported) when `quiet` or stderr is no terminal.
ProgressCallback stderr_progress(bool quiet);

}  // namespace gemma4::cli
