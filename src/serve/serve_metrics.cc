#include <gemma4/serve_metrics.h>

#include <cstdio>
#include <cstdlib>

namespace gemma4::serve {
namespace {

// The shortest %g form that reads back as the same double (0.005, not 0.0050000000000000001).
std::string number(double value) {
  char buffer[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

// A label value with \ " and newline escaped, as the format requires.
std::string label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : time_to_first_token_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      inter_token_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void ServerMetrics::count_request(std::string_view endpoint, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{std::string(endpoint), status}];
}

int64_t ServerMetrics::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

void ServerMetrics::request_started() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++in_flight_;
}

void ServerMetrics::request_ended() {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
}

void ServerMetrics::add_prompt_tokens(int64_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(count);
}

void ServerMetrics::add_generated_tokens(int64_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  generated_tokens_ += static_cast<uint64_t>(count);
}

void ServerMetrics::observe_time_to_first_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  time_to_first_token_.observe(seconds);
}

void ServerMetrics::observe_inter_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  inter_token_.observe(seconds);
}

std::string ServerMetrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "gemma4_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, count] : requests_) {
    out += "gemma4_requests_total{endpoint=\"" + label_value(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";
  }
  header(out, "gemma4_prompt_tokens_total", "counter", "Prompt tokens read (generation and embeddings).");
  out += "gemma4_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  header(out, "gemma4_generated_tokens_total", "counter", "Tokens generated.");
  out += "gemma4_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
  header(out, "gemma4_requests_in_flight", "gauge", "Requests being answered now.");
  out += "gemma4_requests_in_flight " + std::to_string(in_flight_) + "\n";
  header(out, "gemma4_time_to_first_token_seconds", "histogram", "Seconds from a request's arrival to its first generated token.");
  time_to_first_token_.write(out, "gemma4_time_to_first_token_seconds");
  header(out, "gemma4_inter_token_seconds", "histogram", "Seconds between consecutive generated tokens of a request.");
  inter_token_.write(out, "gemma4_inter_token_seconds");
  auto gauge = [&out](const char* name, const char* help, const std::string& value) {
    header(out, name, "gauge", help);
    out += std::string(name) + " " + value + "\n";
  };
  gauge("gemma4_slots_busy", "KV cache slots generating now.", std::to_string(load_.slots_busy));
  gauge("gemma4_slots_total", "KV cache slots (serve --parallel).", std::to_string(load_.slots_total));
  gauge("gemma4_queue_depth", "Sequences waiting for a slot.", std::to_string(load_.queued));
  gauge("gemma4_queue_limit", "Most sequences that may wait before requests get 429.", std::to_string(load_.queue_limit));
  gauge("gemma4_kv_cache_tokens", "KV cache positions held by running sequences.", std::to_string(load_.kv_tokens));
  gauge("gemma4_kv_cache_capacity_tokens", "KV cache positions of all slots.", std::to_string(load_.kv_capacity));
  const double ratio = load_.kv_capacity > 0 ? static_cast<double>(load_.kv_tokens) / static_cast<double>(load_.kv_capacity) : 0.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6f", ratio);
  gauge("gemma4_kv_cache_usage_ratio", "Share of the KV cache positions in use.", buffer);
  gauge("gemma4_kv_cache_bytes", "Bytes of KV cache memory (all slots).", std::to_string(load_.kv_bytes));
  return out;
}

void ServerMetrics::set_load(const ServerLoad& load) {
  std::lock_guard<std::mutex> lock(mutex_);
  load_ = load;
}

std::string metrics_endpoint_label(std::string_view path) {
  for (std::string_view known : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/health",
                                 "/metrics"}) {
    if (path == known) return std::string(known);
  }
  return "other";
}

}  // namespace gemma4::serve
