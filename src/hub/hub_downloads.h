// The three hubs' downloaders behind gemma4::download_model (include/gemma4/hub.h). Each takes the handle
// without its scheme and returns the local folder (or GGUF file); each honours options.offline.
#pragma once

#include <gemma4/hub.h>

#include <string>

namespace gemma4::hub {

// "owner/repo[@revision][:QUANT]" -> its parts; throws gemma4::Error naming the handle when malformed.
struct RepoHandle {
  std::string owner, name, revision, quant;
  std::string id() const { return owner + "/" + name; }
};
RepoHandle parse_repo_handle(const std::string& spec, const std::string& scheme);
// DownloadOptions::quant, else the handle's :QUANT.
inline std::string quant_of(const RepoHandle& handle, const DownloadOptions& options) {
  return options.quant.empty() ? handle.quant : options.quant;
}

std::string download_from_hf(const RepoHandle& handle, const DownloadOptions& options);
std::string download_from_kaggle(const std::string& handle, const DownloadOptions& options);
std::string download_from_modelscope(const RepoHandle& handle, const DownloadOptions& options);

// Shared by the downloaders: the message for an HTTP error status from a hub API.
std::string offline_note();

}  // namespace gemma4::hub
