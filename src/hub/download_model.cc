// download_model: a handle or preset name -> the hub that serves it.
#include <gemma4/error.h>
#include <gemma4/hub.h>
#include <gemma4/preset.h>

#include "hub/hub_downloads.h"
#include "hub/hub_env.h"

namespace gemma4 {
namespace hub {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

bool valid_name(const std::string& part) {
  return !part.empty() && part != "." && part != ".." &&
         part.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

}  // namespace

RepoHandle parse_repo_handle(const std::string& spec, const std::string& scheme) {
  RepoHandle handle;
  std::string rest = spec;
  // owner/repo[@revision][:QUANT]: a quantization after the last ':', a revision after the '@'.
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    handle.quant = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    handle.revision = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    handle.owner = rest.substr(0, slash);
    handle.name = rest.substr(slash + 1);
  }
  const bool ok = slash != std::string::npos && valid_name(handle.owner) && valid_name(handle.name) &&
                  handle.revision.find("..") == std::string::npos &&
                  (spec.find('@') == std::string::npos || !handle.revision.empty()) &&
                  (spec.find(':') == std::string::npos || valid_name(handle.quant));
  if (!ok) {
    throw Error("handle '" + scheme + spec + "' is not of the form " + scheme + "<owner>/<repo>[@<revision>]" +
                (scheme == "hf://" ? "[:<QUANT>]" : ""));
  }
  return handle;
}

std::string offline_note() {
  return "\n(offline: --offline / LoadOptions::allow_download=false or HF_HUB_OFFLINE=1, so nothing was downloaded)";
}

}  // namespace hub

bool is_model_handle(const std::string& name) {
  return hub::starts_with(name, "hf://") || hub::starts_with(name, "kaggle://") ||
         hub::starts_with(name, "modelscope://") || find_builtin_preset(name) != nullptr;
}

std::string download_model(const std::string& handle, const DownloadOptions& options) {
  if (hub::starts_with(handle, "hf://")) return hub::download_from_hf(hub::parse_repo_handle(handle.substr(5), "hf://"), options);
  if (hub::starts_with(handle, "kaggle://")) return hub::download_from_kaggle(handle.substr(9), options);
  if (hub::starts_with(handle, "modelscope://")) {
    return hub::download_from_modelscope(hub::parse_repo_handle(handle.substr(13), "modelscope://"), options);
  }
  const PresetInfo* info = find_builtin_preset(handle);
  if (info == nullptr) {
    throw Error("'" + handle + "' is neither a built-in preset nor an hf://, kaggle:// or modelscope:// handle");
  }
  // KerasHub's presets live on Kaggle; the same models are on the Hugging Face hub. Kaggle first when its
  // credentials are there, else the Hugging Face hub; the other one if the first fails.
  const bool kaggle_first = !hub::kaggle_basic_auth().empty();
  const std::string first = kaggle_first ? info->kaggle_handle : "hf://" + info->hf_repo;
  const std::string second = kaggle_first ? "hf://" + info->hf_repo : info->kaggle_handle;
  std::string first_error;
  try {
    return download_model(first, options);
  } catch (const Error& e) {
    first_error = e.what();
  }
  try {
    return download_model(second, options);
  } catch (const Error& e) {
    throw Error("preset '" + handle + "' could not be fetched.\nFrom " + first + ":\n  " + first_error + "\nFrom " +
                second + ":\n  " + e.what());
  }
}

}  // namespace gemma4
