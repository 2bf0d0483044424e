// The loaders' door to the caches and the hubs: a model name that is not a local path -> a local path, from
// the caches when it is there, else downloaded (when allowed).
#pragma once

#include <gemma4/progress.h>

#include <string>

namespace gemma4::hub {

// A path on disk is returned as it is. A handle or preset name is looked up in the caches
// (resolve_preset_path) and, when missing there and allow_download is set (and HF_HUB_OFFLINE is not), downloaded.
std::string locate_model(const std::string& name, bool allow_download, const ProgressCallback& progress);

}  // namespace gemma4::hub
