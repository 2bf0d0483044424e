// A small HTTP client over libcurl for the hub downloaders: one request at a time, headers of the final
// response, the body either in memory (API answers, error pages) or streamed to a sink (file downloads).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gemma4::hub {

struct HttpRequest {
  std::string method = "GET";        // "GET" or "HEAD"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string basic_auth;            // "user:password" (never sent on to another host after a redirect)
  bool follow_redirects = true;
  int64_t range_start = 0;           // > 0: "Range: bytes=<range_start>-"
};

struct HttpResponse {
  long status = 0;
  std::string url;                            // after redirects
  std::map<std::string, std::string> headers;  // of the final response, names lower-cased
  std::string body;                           // unless a sink took it (2xx with a sink)

  // "" when absent.
  std::string header(const std::string& name) const;
};

// Called with each piece of a successful (2xx) body and that response's status; return false to stop.
using BodySink = std::function<bool(long status, const char* data, size_t size)>;

// Throws gemma4::Error on transport failures (connection refused or cut, timeouts), naming the URL. HTTP error
// statuses are returned, not thrown. A stall of GEMMA4_HUB_STALL_SECONDS (default 60) without any byte aborts.
HttpResponse http_request(const HttpRequest& request, const BodySink& sink = {});

// Percent-encoding of one URL component (RFC 3986 unreserved characters kept).
std::string url_escape(const std::string& text, bool keep_slashes = false);

}  // namespace gemma4::hub
