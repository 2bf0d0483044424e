// The server's counters for GET /metrics, written in Prometheus' text exposition format (version 0.0.4):
//   gemma4_requests_total{endpoint,status}   counter, one series per path and HTTP status
//   gemma4_prompt_tokens_total               counter, prompt tokens of generation and embedding requests
//   gemma4_generated_tokens_total            counter
//   gemma4_requests_in_flight                gauge
//   gemma4_time_to_first_token_seconds       histogram, request arrival -> first generated token
//   gemma4_inter_token_seconds               histogram, between consecutive generated tokens
//   gemma4_slots_busy, gemma4_slots_total    gauges, KV slots generating / configured (serve --parallel)
//   gemma4_queue_depth, gemma4_queue_limit   gauges, sequences waiting for a slot / most that may wait
//   gemma4_kv_cache_tokens, gemma4_kv_cache_capacity_tokens, gemma4_kv_cache_usage_ratio, gemma4_kv_cache_bytes
//                                            gauges, positions held by running sequences, of all slots
// Every method is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma4::serve {

// A histogram with fixed upper bounds (seconds); counts are per bucket, summed when written.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  // The _bucket (cumulative, with le="+Inf"), _sum and _count lines of `name`.
  void write(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // the last one: above every bound
  double sum_ = 0;
  uint64_t count_ = 0;
};

// How busy the server is (the scheduler's view; /metrics and /health read it).
struct ServerLoad {
  int64_t slots_busy = 0;
  int64_t slots_total = 0;
  int64_t queued = 0;
  int64_t queue_limit = 0;
  int64_t kv_tokens = 0;
  int64_t kv_capacity = 0;
  int64_t kv_bytes = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  // `endpoint` is a label value: the server passes a known path, or "other" (no unbounded label sets).
  void count_request(std::string_view endpoint, int status);
  void request_started();
  void request_ended();
  int64_t in_flight() const;  // requests being answered now (the gauge's value)
  void add_prompt_tokens(int64_t count);
  void add_generated_tokens(int64_t count);
  void observe_time_to_first_token(double seconds);
  void observe_inter_token(double seconds);
  void set_load(const ServerLoad& load);
  // The whole exposition text (Content-Type "text/plain; version=0.0.4").
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0;
  uint64_t generated_tokens_ = 0;
  int64_t in_flight_ = 0;
  Histogram time_to_first_token_;
  Histogram inter_token_;
  ServerLoad load_;
};

// The endpoint label for a request path: the path itself for the server's endpoints, else "other".
std::string metrics_endpoint_label(std::string_view path);

}  // namespace gemma4::serve
