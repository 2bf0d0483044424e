// hf://owner/repo[@revision][:QUANT] through the Hugging Face hub's HTTP API, into huggingface_hub's cache
// layout (see docs/downloads.md): models--owner--repo/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
// refs/<revision>}, with huggingface_hub's .locks/ and .incomplete files.
#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

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

bool is_hex(const std::string& text, size_t length) {
  return text.size() == length && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// ETag: "<value>" or W/"<value>" -> <value>, as huggingface_hub's _normalize_etag.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

struct Context {
  RepoHandle handle;
  std::string endpoint, token, label;
  fs::path repo_dir, locks_dir;

  std::vector<std::string> auth_headers() const {
    if (token.empty()) return {};
    return {"Authorization: Bearer " + token};
  }

  // A failed request as a sentence that says what to do about it.
  [[noreturn]] void fail(const std::string& what, const HttpResponse& response) const {
    const std::string code = response.header("x-error-code");
    std::string message = response.header("x-error-message");
    if (message.empty() && response.body.size() < 400) message = response.body;
    std::string text = describe_http_error(label + ": " + what, response.url, response.status, message);
    const std::string page = endpoint + "/" + handle.id();
    if (response.status == 401 || response.status == 403 || code == "GatedRepo") {
      text += ".\nThe repository is gated or private, or does not exist. Gated models (Gemma is one) need you to "
              "accept their license: log in on " + page + " and accept it there, then create an access token at " +
              endpoint + "/settings/tokens and set HF_TOKEN=<token> (or write it to " + hf_token_file() + ").";
      text += token.empty() ? " No token was sent: HF_TOKEN is not set and " + hf_token_file() + " does not exist."
                            : " A token was sent; it lacks access to this repository.";
    } else if (response.status == 404) {
      text += code == "RevisionNotFound" ? ".\nThe revision '" + handle.revision + "' does not exist in " + page
              : code == "EntryNotFound"  ? ".\nThe file is not in the repository at this revision"
                                         : ".\nNo such repository: check the name on " + page;
    }
    throw Error(text);
  }
};

void write_text_atomic(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path temp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary);
    out << text;
    if (!out) throw Error("cannot write '" + temp.string() + "'");
  }
  fs::rename(temp, path, ec);
  if (ec) throw Error("cannot write '" + path.string() + "': " + ec.message());
}

// snapshots/<commit>/<file> -> ../../blobs/<etag> (one more ../ per folder level of the file), replaced atomically.
void link_snapshot_file(const fs::path& repo_dir, const std::string& commit, const std::string& file,
                        const std::string& etag) {
  const fs::path link = repo_dir / "snapshots" / commit / file;
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  std::string target;
  for (size_t i = 0; i < 2 + static_cast<size_t>(std::count(file.begin(), file.end(), '/')); ++i) target += "../";
  target += "blobs/" + etag;
  const fs::path temp = link.string() + ".tmp" + std::to_string(::getpid());
  fs::remove(temp, ec);
  fs::create_symlink(target, temp, ec);
  if (ec) throw Error("cannot create the snapshot link '" + temp.string() + "': " + ec.message());
  fs::rename(temp, link, ec);
  if (ec) throw Error("cannot create the snapshot link '" + link.string() + "': " + ec.message());
}

std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    if (fs::is_regular_file(it->path(), ec)) files.push_back(fs::relative(it->path(), root).string());  // follows links
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The shards a safetensors index names must all be in the snapshot.
void check_index_complete(const fs::path& snapshot, const std::string& label) {
  const fs::path index = snapshot / "model.safetensors.index.json";
  std::ifstream in(index);
  if (!in) return;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const std::exception&) {
    return;  // the loader reports a broken index with its own message
  }
  if (!json.contains("weight_map") || !json["weight_map"].is_object()) return;
  for (const auto& [name, shard] : json["weight_map"].items()) {
    if (shard.is_string() && !fs::exists(snapshot / shard.get<std::string>())) {
      throw Error(label + ": the cached snapshot " + snapshot.string() + " lacks " + shard.get<std::string>() +
                  " (named by model.safetensors.index.json)" + offline_note());
    }
  }
}

std::string result_path(const fs::path& snapshot, const FileSelection& selection) {
  return selection.model_file.empty() ? snapshot.string() : (snapshot / selection.model_file).string();
}

std::string from_cache_only(const Context& ctx, const std::string& revision, const DownloadOptions& options) {
  std::string commit = revision;
  const fs::path ref = ctx.repo_dir / "refs" / revision;
  if (!is_hex(revision, 40)) {
    std::ifstream in(ref);
    if (!in || !std::getline(in, commit) || commit.empty()) {
      throw Error(ctx.label + " is not in the Hugging Face cache: " + ref.string() + " does not exist" + offline_note());
    }
  }
  const fs::path snapshot = ctx.repo_dir / "snapshots" / commit;
  const std::vector<std::string> present = files_under(snapshot);
  if (present.empty()) {
    throw Error(ctx.label + " is not in the Hugging Face cache: " + snapshot.string() + " is missing or empty" +
                offline_note());
  }
  const FileSelection selection = select_files(present, options.include, quant_of(ctx.handle, options), ctx.label);
  if (selection.model_file.empty() && !fs::exists(snapshot / "config.json")) {
    throw Error(ctx.label + ": the cached snapshot " + snapshot.string() + " has no config.json" + offline_note());
  }
  check_index_complete(snapshot, ctx.label);
  return result_path(snapshot, selection);
}

void fetch_file(const Context& ctx, const std::string& commit, const std::string& file, const ProgressCallback& progress) {
  const fs::path link = ctx.repo_dir / "snapshots" / commit / file;
  std::error_code ec;
  if (fs::exists(link, ec)) return;  // a link whose blob is complete
  const std::string url = ctx.endpoint + "/" + ctx.handle.id() + "/resolve/" + commit + "/" + url_escape(file, true);
  // HEAD without following redirects: the hub itself answers with the file's ETag (the sha256 of an LFS file in
  // X-Linked-Etag), its size and the commit; large files then redirect to a CDN.
  HttpRequest head{"HEAD", url, ctx.auth_headers(), "", false, 0};
  head.headers.push_back("Accept-Encoding: identity");
  const HttpResponse meta = http_request(head);
  if (meta.status >= 400 || meta.status < 200) ctx.fail("file " + file, meta);
  const std::string etag =
      normalize_etag(!meta.header("x-linked-etag").empty() ? meta.header("x-linked-etag") : meta.header("etag"));
  if (etag.empty() || etag.find('/') != std::string::npos || etag == "." || etag == "..") {
    throw Error(ctx.label + ": the hub sent no usable ETag for " + file + " (HEAD " + url + ")");
  }
  const std::string size_text = !meta.header("x-linked-size").empty() ? meta.header("x-linked-size")
                                                                       : meta.header("content-length");
  int64_t size = -1;
  try {
    if (!size_text.empty()) size = std::stoll(size_text);
  } catch (const std::exception&) {
  }
  const fs::path blob = ctx.repo_dir / "blobs" / etag;
  if (!fs::exists(blob, ec)) {
    FileLock lock((ctx.locks_dir / (etag + ".lock")).string());
    if (!fs::exists(blob, ec)) {  // another process may have finished it while we waited
      FileDownload download;
      download.url = url;
      download.headers = ctx.auth_headers();
      download.headers.push_back("Accept-Encoding: identity");
      download.final_path = blob.string();
      download.partial_path = blob.string() + ".incomplete";
      download.expected_size = size;
      if (is_hex(etag, 64)) download.expected_sha256 = etag;  // LFS files are named by their sha256
      download.label = ctx.label + " " + file;
      download_file(download, progress);
    }
  }
  link_snapshot_file(ctx.repo_dir, commit, file, etag);
}

}  // namespace

std::string download_from_hf(const RepoHandle& handle, const DownloadOptions& options) {
  Context ctx;
  ctx.handle = handle;
  ctx.endpoint = hf_endpoint();
  ctx.label = "hf://" + handle.id();
  const std::string folder = "models--" + handle.owner + "--" + handle.name;
  ctx.repo_dir = fs::path(presets::hf_hub_cache_dir()) / folder;
  ctx.locks_dir = fs::path(presets::hf_hub_cache_dir()) / ".locks" / folder;
  const std::string revision = !options.revision.empty() ? options.revision
                               : !handle.revision.empty() ? handle.revision
                                                          : "main";
  ctx.handle.revision = revision;
  if (options.offline || offline_from_env()) return from_cache_only(ctx, revision, options);
  ctx.token = hf_token();

  const std::string info_url = ctx.endpoint + "/api/models/" + handle.id() + "/revision/" + url_escape(revision);
  const HttpResponse info = http_request({"GET", info_url, ctx.auth_headers(), "", true, 0});
  if (info.status != 200) ctx.fail("model info", info);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(info.body);
  } catch (const std::exception&) {
    throw Error(ctx.label + ": the model info from " + info_url + " is not JSON");
  }
  if (!json.is_object() || !json.contains("sha") || !json["sha"].is_string() || !json.contains("siblings") ||
      !json["siblings"].is_array()) {
    throw Error(ctx.label + ": the model info from " + info_url + " lacks \"sha\" or \"siblings\"");
  }
  const std::string commit = json["sha"].get<std::string>();
  if (!is_hex(commit, 40)) throw Error(ctx.label + ": the model info gives commit '" + commit + "', not a 40-digit hash");
  std::vector<std::string> names;
  for (const auto& sibling : json["siblings"]) {
    if (sibling.is_object() && sibling.contains("rfilename") && sibling["rfilename"].is_string()) {
      const std::string name = sibling["rfilename"].get<std::string>();
      // Never outside the snapshot folder.
      if (!name.empty() && name[0] != '/' && name.find("..") == std::string::npos) names.push_back(name);
    }
  }
  FileSelection selection = select_files(names, options.include, quant_of(handle, options), ctx.label);
  // config.json last: a snapshot folder is taken for a model once it has one (presets/preset_cache), so it must
  // not appear before the weights are in.
  std::stable_partition(selection.files.begin(), selection.files.end(), [](const std::string& f) { return f != "config.json"; });
  for (const auto& file : selection.files) fetch_file(ctx, commit, file, options.progress);
  if (revision != commit) write_text_atomic(ctx.repo_dir / "refs" / revision, commit);
  return result_path(ctx.repo_dir / "snapshots" / commit, selection);
}

}  // namespace gemma4::hub
