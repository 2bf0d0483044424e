// modelscope://owner/repo[@revision] through ModelScope's file API as the modelscope library uses it
// (modelscope/hub/api.py get_model_files, file_download.py get_file_download_url), into its cache folder
// <MODELSCOPE_CACHE>/models/owner/<repo with '.' as '___'>. Files are fetched into its temporary folder
// (._____temp/owner/repo), checked against the listed sha256 and size, and moved into place together at the end,
// config.json last, so a reader that finds config.json finds the whole model.
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "hub/file_lock.h"
#include "hub/file_selection.h"
#include "hub/http_client.h"
#include "hub/hub_downloads.h"
#include "hub/hub_env.h"
#include "hub/resumable_download.h"
#include "presets/preset_cache.h"

namespace gemma4::hub {
namespace {

namespace fs = std::filesystem;

struct Listed {
  std::string path, sha256;
  int64_t size = -1;
};

}  // namespace

std::string download_from_modelscope(const RepoHandle& handle, const DownloadOptions& options) {
  const std::string label = "modelscope://" + handle.id();
  const fs::path model_dir = presets::modelscope_model_dir(handle.owner, handle.name);
  if (options.offline || offline_from_env()) {
    auto lookup = presets::find_in_modelscope_cache(handle.id());
    if (lookup.found) return *lookup.found;
    std::string places;
    for (const auto& place : lookup.looked_at) places += "\n  - " + place;
    throw Error(label + " is not in the ModelScope cache. Looked at:" + places + offline_note());
  }
  const std::string endpoint = modelscope_endpoint();
  const std::string revision = !options.revision.empty() ? options.revision
                               : !handle.revision.empty() ? handle.revision
                                                          : "master";
  const std::string list_url = endpoint + "/api/v1/models/" + handle.id() + "/repo/files?Revision=" +
                               url_escape(revision) + "&Recursive=True";
  const HttpResponse response = http_request({"GET", list_url, {}, "", true, 0});
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(response.body);
  } catch (const std::exception&) {
    if (response.status != 200) throw Error(describe_http_error(label + ": file list", list_url, response.status, ""));
    throw Error(label + ": the file list from " + list_url + " is not JSON");
  }
  const bool ok = response.status == 200 && json.is_object() && json.value("Code", 0) == 200 && json.contains("Data") &&
                  json["Data"].is_object() && json["Data"].contains("Files") && json["Data"]["Files"].is_array();
  if (!ok) {
    const std::string message = json.is_object() && json.contains("Message") && json["Message"].is_string()
                                    ? json["Message"].get<std::string>()
                                    : "";
    std::string text = describe_http_error(label + ": file list", list_url, response.status, message);
    if (response.status == 404) text += ".\nNo such model or revision on ModelScope: check the name";
    if (response.status == 401 || response.status == 403) text += ".\nThe model is private or needs its license accepted on ModelScope";
    throw Error(text);
  }
  std::vector<Listed> listed;
  std::vector<std::string> names;
  for (const auto& file : json["Data"]["Files"]) {
    if (!file.is_object() || file.value("Type", "") != "blob" || !file.contains("Path") || !file["Path"].is_string()) continue;
    Listed item;
    item.path = file["Path"].get<std::string>();
    if (item.path.empty() || item.path[0] == '/' || item.path.find("..") != std::string::npos) continue;
    if (file.contains("Sha256") && file["Sha256"].is_string()) item.sha256 = file["Sha256"].get<std::string>();
    if (file.contains("Size") && file["Size"].is_number_integer()) item.size = file["Size"].get<int64_t>();
    names.push_back(item.path);
    listed.push_back(item);
  }
  const FileSelection selection = select_files(names, options.include, quant_of(handle, options), label);
  const fs::path staging = fs::path(presets::modelscope_cache_dir()) / "._____temp" / handle.owner / handle.name;
  FileLock lock((staging.string() + ".lock"));
  std::error_code ec;
  std::vector<std::string> to_move;
  for (const auto& item : listed) {
    if (std::find(selection.files.begin(), selection.files.end(), item.path) == selection.files.end()) continue;
    if (fs::exists(model_dir / item.path, ec)) continue;  // already in place (this or another process)
    const fs::path staged = staging / item.path;
    to_move.push_back(item.path);
    if (fs::exists(staged, ec)) continue;  // complete and checked by an earlier, interrupted run
    FileDownload download;
    download.url = endpoint + "/api/v1/models/" + handle.id() + "/repo?Revision=" + url_escape(revision) +
                   "&FilePath=" + url_escape(item.path);
    download.final_path = staged.string();
    download.partial_path = staged.string() + ".part";
    download.expected_size = item.size;
    download.expected_sha256 = item.sha256;
    download.label = label + " " + item.path;
    download_file(download, options.progress);
  }
  // config.json last: its presence means the rest is there.
  std::stable_partition(to_move.begin(), to_move.end(), [](const std::string& p) { return p != "config.json"; });
  for (const auto& path : to_move) {
    fs::create_directories((model_dir / path).parent_path(), ec);
    fs::rename(staging / path, model_dir / path, ec);
    if (ec) throw Error(label + ": cannot move '" + (staging / path).string() + "' into " + model_dir.string() + ": " + ec.message());
  }
  return selection.model_file.empty() ? model_dir.string() : (model_dir / selection.model_file).string();
}

}  // namespace gemma4::hub
