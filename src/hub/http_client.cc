#include "hub/http_client.h"

#include <gemma4/error.h>

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace gemma4::hub {
namespace {

struct Transfer {
  const BodySink* sink = nullptr;
  HttpResponse* response = nullptr;
  CURL* curl = nullptr;
  bool sink_stopped = false;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

// Each response of a redirect chain starts with its status line: keep only the last response's headers.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->response->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
    transfer->response->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
  const size_t bytes = size * count;
  if (transfer->sink != nullptr && *transfer->sink && status >= 200 && status < 300) {
    if (!(*transfer->sink)(status, data, bytes)) {
      transfer->sink_stopped = true;
      return 0;  // aborts the transfer
    }
    return bytes;
  }
  // Error pages and API answers: kept in memory, bounded (API answers of a model repository are small).
  std::string& body = transfer->response->body;
  if (body.size() + bytes > (64u << 20)) return 0;
  body.append(data, bytes);
  return bytes;
}

long stall_seconds() {
  const char* value = std::getenv("GEMMA4_HUB_STALL_SECONDS");
  const long seconds = value != nullptr ? std::atol(value) : 0;
  return seconds > 0 ? seconds : 60;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  const auto found = headers.find(lower(name));
  return found == headers.end() ? std::string() : found->second;
}

HttpResponse http_request(const HttpRequest& request, const BodySink& sink) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("HTTP: could not start a transfer (libcurl) for " + request.url);
  HttpResponse response;
  Transfer transfer{&sink, &response, curl.get()};
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "gemma4.cpp");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_seconds());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!request.basic_auth.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERPWD, request.basic_auth.c_str());
  }
  const std::string range = std::to_string(request.range_start) + "-";
  if (request.range_start > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  const CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* final_url = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final_url);
  response.url = final_url != nullptr ? final_url : request.url;
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && transfer.sink_stopped)) {
    throw Error("HTTP " + request.method + " " + request.url + " failed: " +
                (error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code))));
  }
  return response;
}

std::string url_escape(const std::string& text, bool keep_slashes) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace gemma4::hub
