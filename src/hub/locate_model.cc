#include "hub/locate_model.h"

#include <gemma4/error.h>
#include <gemma4/hub.h>
#include <gemma4/preset.h>

#include <filesystem>

#include "hub/hub_downloads.h"
#include "hub/hub_env.h"

namespace gemma4::hub {

std::string locate_model(const std::string& name, bool allow_download, const ProgressCallback& progress) {
  if (std::filesystem::exists(name) || !is_model_handle(name)) return resolve_preset_path(name);
  const bool offline = !allow_download || offline_from_env();
  // resolve_preset_path knows plain handles; a revision or quantization (hf://o/r@rev:Q4_K_M) is the hub code's.
  const size_t scheme_end = name.find("://");
  const bool plain = scheme_end == std::string::npos || name.find_first_of("@:", scheme_end + 3) == std::string::npos;
  DownloadOptions options;
  options.offline = offline;
  options.progress = progress;
  if (!plain) return download_model(name, options);
  try {
    return resolve_preset_path(name);
  } catch (const Error& e) {
    if (offline) throw Error(std::string(e.what()) + offline_note());
  }
  return download_model(name, options);
}

}  // namespace gemma4::hub
