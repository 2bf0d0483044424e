#include "hub/resumable_download.h"

#include <gemma4/error.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "hub/file_digest.h"
#include "hub/http_client.h"

namespace gemma4::hub {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kAttempts = 5;

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// "bytes 100-199/1000" -> 1000; -1 if absent or unknown ("*").
int64_t content_range_total(const std::string& value) {
  const size_t slash = value.rfind('/');
  if (slash == std::string::npos) return -1;
  try {
    return std::stoll(value.substr(slash + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t parse_size(const std::string& value) {
  try {
    return value.empty() ? -1 : std::stoll(value);
  } catch (const std::exception&) {
    return -1;
  }
}

// X-Goog-Hash: crc32c=...,md5=... -> the md5 part.
std::string goog_md5(const std::string& header) {
  const size_t at = header.find("md5=");
  if (at == std::string::npos) return "";
  const size_t end = header.find(',', at);
  return header.substr(at + 4, end == std::string::npos ? std::string::npos : end - at - 4);
}

}  // namespace

std::string describe_http_error(const std::string& what, const std::string& url, long status,
                                const std::string& message) {
  std::string text = what + ": HTTP " + std::to_string(status) + " from " + url;
  std::string detail = message.substr(0, 300);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  if (!detail.empty()) text += " (" + detail + ")";
  return text;
}

void download_file(const FileDownload& d, const ProgressCallback& progress) {
  std::error_code ec;
  fs::create_directories(fs::path(d.partial_path).parent_path(), ec);
  int64_t expected = d.expected_size;
  std::string md5;
  std::string last_url = d.url;
  auto last_report = Clock::now() - std::chrono::seconds(1);
  auto report = [&](int64_t done, bool force) {
    if (!progress) return;
    const auto now = Clock::now();
    if (!force && now - last_report < std::chrono::milliseconds(100)) return;
    last_report = now;
    progress(Progress{d.label, done, expected, "B"});
  };
  for (int attempt = 1;; ++attempt) {
    int64_t offset = file_size_or_zero(d.partial_path);
    if (expected >= 0 && offset > expected) offset = 0;  // not this file's bytes: start over
    if (expected >= 0 && offset == expected && offset > 0) break;
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(d.partial_path.c_str(), offset > 0 ? "ab" : "wb"), std::fclose);
    if (!out) throw Error(d.label + ": cannot write '" + d.partial_path + "'");
    int64_t written = offset;
    bool first = true;
    HttpRequest request{"GET", d.url, d.headers, d.basic_auth, true, offset};
    HttpResponse response;
    bool write_failed = false;
    BodySink sink = [&](long status, const char* data, size_t size) {
      if (first) {
        first = false;
        if (offset > 0 && status == 200) {  // the server ignored the range and sends the whole file
          out.reset(std::fopen(d.partial_path.c_str(), "wb"));
          written = 0;
          if (!out) return write_failed = true, false;
        }
      }
      if (std::fwrite(data, 1, size, out.get()) != size) return write_failed = true, false;
      written += static_cast<int64_t>(size);
      report(written, false);
      return true;
    };
    report(offset, true);
    std::string transport_error;
    try {
      response = http_request(request, sink);
    } catch (const Error& e) {
      transport_error = e.what();
    }
    out.reset();
    if (write_failed) throw Error(d.label + ": cannot write '" + d.partial_path + "' (disk full?)");
    if (!transport_error.empty()) {
      if (attempt >= kAttempts) {
        throw Error(d.label + ": download failed after " + std::to_string(kAttempts) + " attempts: " + transport_error +
                    ". The " + std::to_string(file_size_or_zero(d.partial_path)) + " bytes received are kept in '" +
                    d.partial_path + "'; running again resumes from there.");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
      continue;
    }
    last_url = response.url;
    if (response.status == 416) {  // the range is past the end: the partial file is not this file
      fs::remove(d.partial_path, ec);
      if (attempt >= kAttempts) throw Error(describe_http_error(d.label, response.url, 416, ""));
      continue;
    }
    if (response.status < 200 || response.status >= 300) {
      throw Error(describe_http_error(d.label, response.url, response.status,
                                      response.header("x-error-message").empty() ? response.body
                                                                                 : response.header("x-error-message")));
    }
    if (expected < 0) {
      expected = response.status == 206 ? content_range_total(response.header("content-range"))
                                        : parse_size(response.header("content-length"));
    }
    if (d.check_goog_md5) md5 = goog_md5(response.header("x-goog-hash"));
    const int64_t have = file_size_or_zero(d.partial_path);
    if (expected < 0 || have == expected) break;
    if (have > expected || attempt >= kAttempts) break;  // checked (and reported) below
  }
  const int64_t have = file_size_or_zero(d.partial_path);
  report(have, true);
  auto reject = [&](const std::string& why) {
    fs::remove(d.partial_path, ec);
    throw Error(d.label + ": " + why + " (downloaded from " + last_url +
                "). The partial download was deleted; nothing was added to the cache. Run again to retry.");
  };
  if (expected >= 0 && have != expected) {
    reject("size mismatch: expected " + std::to_string(expected) + " bytes, got " + std::to_string(have));
  }
  if (!d.expected_sha256.empty()) {
    const std::string actual = sha256_file_hex(d.partial_path);
    if (actual != d.expected_sha256) {
      reject("checksum mismatch: the hub gives sha256 " + d.expected_sha256 + ", the downloaded file has " + actual);
    }
  }
  if (!md5.empty()) {
    const std::string actual = md5_file_base64(d.partial_path);
    if (actual != md5) reject("checksum mismatch: X-Goog-Hash gives md5 " + md5 + ", the downloaded file has " + actual);
  }
  fs::create_directories(fs::path(d.final_path).parent_path(), ec);
  fs::rename(d.partial_path, d.final_path, ec);
  if (ec) throw Error(d.label + ": cannot move '" + d.partial_path + "' to '" + d.final_path + "': " + ec.message());
}

}  // namespace gemma4::hub
