// One file from a URL into the cache: resumed from its partial file with an HTTP range after a cut
// connection (here, or in a later run), checked (size, sha256 or md5) and only then renamed into place, so a
// file at its final path is always complete. A mismatch deletes the partial file and says so.
#pragma once

#include <gemma4/progress.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gemma4::hub {

struct FileDownload {
  std::string url;
  std::vector<std::string> headers;  // e.g. "Authorization: Bearer ..."
  std::string basic_auth;            // "user:key"
  std::string final_path;            // written only when complete and verified
  std::string partial_path;          // the bytes so far; resumed from
  int64_t expected_size = -1;        // < 0: unknown (then Content-Length / Content-Range is used)
  std::string expected_sha256;       // lower-case hex, or ""
  bool check_goog_md5 = false;       // verify X-Goog-Hash: md5=... when the server sends it (Kaggle's storage)
  std::string label;                 // "hf://acme/tiny model.safetensors": messages and progress
};

void download_file(const FileDownload& download, const ProgressCallback& progress);

// An HTTP error status as a sentence naming the URL, the status and the hub's own message (X-Error-Message
// header or a short body).
std::string describe_http_error(const std::string& what, const std::string& url, long status,
                                const std::string& message);

}  // namespace gemma4::hub
