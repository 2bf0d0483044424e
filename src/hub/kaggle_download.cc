// kaggle://owner/model/framework/variation[/version] through Kaggle's API v1 as kagglehub's ModelHttpResolver
// uses it, into kagglehub's cache: <KAGGLEHUB_CACHE>/models/owner/model/framework/variation/<version>/ with the
// completion marker <version>.complete beside it. Files are fetched into a staging folder that is renamed into
// place when every file is complete and checked, so the version folder never holds a partial model.
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

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

struct KaggleHandle {
  std::string owner, model, framework, variation;
  int64_t version = -1;
  std::string path() const { return owner + "/" + model + "/" + framework + "/" + variation; }
};

KaggleHandle parse(const std::string& handle) {
  KaggleHandle h;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = handle.find('/', start);
    parts.push_back(handle.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  const bool ok = (parts.size() == 4 || parts.size() == 5) &&
                  std::none_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty() || p == ".."; });
  if (!ok) {
    throw Error("Kaggle handle 'kaggle://" + handle +
                "' is not of the form kaggle://<owner>/<model>/<framework>/<variation>[/<version>]");
  }
  h.owner = parts[0], h.model = parts[1], h.framework = parts[2], h.variation = parts[3];
  if (parts.size() == 5) {
    if (parts[4].find_first_not_of("0123456789") != std::string::npos || parts[4].size() > 9) {
      throw Error("Kaggle handle 'kaggle://" + handle + "': version '" + parts[4] + "' is not a number");
    }
    h.version = std::stoll(parts[4]);
  }
  return h;
}

struct Client {
  std::string base, auth, label, page;  // page: the model on kaggle.com

  nlohmann::json get(const std::string& path, const std::string& what) const {
    const std::string url = base + path;
    const HttpResponse response = http_request({"GET", url, {}, auth, true, 0});
    if (response.status != 200) fail(what, response);
    try {
      return nlohmann::json::parse(response.body);
    } catch (const std::exception&) {
      throw Error(label + ": " + what + " from " + url + " is not JSON");
    }
  }

  [[noreturn]] void fail(const std::string& what, const HttpResponse& response) const {
    std::string message = response.body.size() < 400 ? response.body : response.body.substr(0, 400);
    std::string text = describe_http_error(label + ": " + what, response.url, response.status, message);
    if (response.status == 401 || response.status == 403) {
      text += ".\nKaggle needs your API credentials and, for Gemma, the license accepted on the model's page (" +
              page + "). Set KAGGLE_USERNAME and KAGGLE_KEY (from " + kaggle_endpoint() + "/settings, \"Create New Token\") "
              "or put them in " + kaggle_credentials_file() + ".";
      if (auth.empty()) text += " No credentials were sent.";
    } else if (response.status == 404) {
      text += ".\nNo such model, variation or version on Kaggle: check the handle";
    }
    throw Error(text);
  }
};

}  // namespace

std::string download_from_kaggle(const std::string& spec, const DownloadOptions& options) {
  KaggleHandle h = parse(spec);
  const fs::path variation_dir = fs::path(presets::kagglehub_cache_dirs().front()) / "models" / h.owner / h.model /
                                 h.framework / h.variation;
  const std::string label = "kaggle://" + h.path();
  if (options.offline || offline_from_env()) {
    auto lookup = presets::find_in_kaggle_cache(spec, /*any_version=*/false);
    if (lookup.found) return *lookup.found;
    std::string places;
    for (const auto& place : lookup.looked_at) places += "\n  - " + place;
    throw Error(label + (h.version >= 0 ? "/" + std::to_string(h.version) : "") +
                " is not in the KaggleHub cache. Looked at:" + places + offline_note());
  }
  Client client{kaggle_endpoint() + "/api/v1/", kaggle_basic_auth(), label,
                kaggle_endpoint() + "/models/" + h.owner + "/" + h.model};
  if (h.version < 0) {
    const auto instance = client.get("models/" + h.path() + "/get", "model instance");
    if (!instance.contains("versionNumber") || !instance["versionNumber"].is_number_integer()) {
      throw Error(label + ": the model instance answer has no integer \"versionNumber\"");
    }
    h.version = instance["versionNumber"].get<int64_t>();
  }
  const std::string version = std::to_string(h.version);
  client.label = label + "/" + version;
  const fs::path target = variation_dir / version;
  const fs::path marker = variation_dir / (version + ".complete");
  std::error_code ec;
  if (fs::exists(marker, ec) && fs::is_directory(target, ec)) return target.string();

  FileLock lock((variation_dir / ("." + version + ".lock")).string());
  if (fs::exists(marker, ec) && fs::is_directory(target, ec)) return target.string();  // done while we waited
  // The file list (kagglehub's ListModelInstanceVersionFiles), page by page.
  std::vector<std::string> names;
  std::string page_token;
  for (int page = 0; page < 1000; ++page) {
    std::string path = "models/" + h.path() + "/" + version + "/files?page_size=25";
    if (!page_token.empty()) path += "&page_token=" + url_escape(page_token);
    const auto listing = client.get(path, "file list");
    if (!listing.contains("files") || !listing["files"].is_array()) {
      throw Error(client.label + ": the file list has no \"files\" array");
    }
    for (const auto& file : listing["files"]) {
      if (!file.contains("name") || !file["name"].is_string()) continue;
      std::string name = file["name"].get<std::string>();
      while (!name.empty() && name[0] == '/') name.erase(0, 1);
      if (!name.empty() && name.find("..") == std::string::npos) names.push_back(name);
    }
    page_token = listing.contains("nextPageToken") && listing["nextPageToken"].is_string()
                     ? listing["nextPageToken"].get<std::string>()
                     : "";
    if (page_token.empty()) break;
  }
  const FileSelection selection = select_files(names, options.include, options.quant, client.label);
  const fs::path staging = variation_dir / ("." + version + ".incomplete");
  for (const auto& file : selection.files) {
    const fs::path done = staging / file;
    if (fs::exists(done, ec)) continue;  // fetched and checked by an earlier, interrupted run
    FileDownload download;
    download.url = client.base + "models/" + h.path() + "/" + version + "/download/" + url_escape(file, true);
    download.basic_auth = client.auth;
    download.final_path = done.string();
    download.partial_path = done.string() + ".part";
    download.check_goog_md5 = true;
    download.label = client.label + " " + file;
    download_file(download, options.progress);
  }
  fs::remove_all(target, ec);  // a partial folder of another tool, without its marker
  fs::rename(staging, target, ec);
  if (ec) throw Error(client.label + ": cannot move '" + staging.string() + "' to '" + target.string() + "': " + ec.message());
  std::ofstream(marker).flush();
  if (!fs::exists(marker, ec)) throw Error(client.label + ": cannot write the completion marker " + marker.string());
  const std::string result = selection.model_file.empty() ? target.string() : (target / selection.model_file).string();
  return result;
}

}  // namespace gemma4::hub
