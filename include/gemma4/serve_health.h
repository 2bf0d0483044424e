// GET /health for load balancers: whether this replica should get requests now.
//   ready       200 {"status": "ok", ...load}                         (llama-server's body when ready)
//   loading     503 {"status": "loading", "error": {"message": "Loading model", "type": "unavailable_error",
//                    "code": 503}}                                    (llama-server's error body while loading)
//   overloaded  503 {"status": "overloaded", "error": {...}, ...load} every slot busy and the queue full
// The load comes from a getter the server sets (slots busy/total and queue length; a server without slots
// reports requests in flight against a limit), read at each probe.
#pragma once

#include <gemma4/serve_metrics.h>  // ServerLoad: slots busy/total, queued and the queue's limit (0: no queue)

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace gemma4::serve {

enum class HealthState { kLoading, kReady, kOverloaded };

// Overloaded when every slot is busy and the queue is full (a new request would be refused or wait too long).
HealthState health_state(bool loaded, const ServerLoad& load);

struct HealthReply {
  int status = 200;
  std::string body;  // JSON
};

HealthReply render_health_reply(HealthState state, const ServerLoad& load);

class Health {
 public:
  void set_ready() { loaded_.store(true); }
  bool ready() const { return loaded_.load(); }
  void set_load_getter(std::function<ServerLoad()> getter);
  ServerLoad load() const;
  HealthReply reply() const;

 private:
  std::atomic<bool> loaded_{false};
  mutable std::mutex mutex_;
  std::function<ServerLoad()> getter_;
};

}  // namespace gemma4::serve
