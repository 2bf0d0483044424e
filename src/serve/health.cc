#include <gemma4/serve_health.h>

#include <nlohmann/json.hpp>

namespace gemma4::serve {

HealthState health_state(bool loaded, const ServerLoad& load) {
  if (!loaded) return HealthState::kLoading;
  const bool slots_full = load.slots_total > 0 && load.slots_busy >= load.slots_total;
  if (slots_full && load.queued >= load.queue_limit) return HealthState::kOverloaded;
  return HealthState::kReady;
}

HealthReply render_health_reply(HealthState state, const ServerLoad& load) {
  nlohmann::json body;
  auto unavailable = [&](const char* message) {
    body["error"] = {{"message", message}, {"type", "unavailable_error"}, {"code", 503}};
  };
  HealthReply reply;
  switch (state) {
    case HealthState::kLoading:
      body["status"] = "loading";
      unavailable("Loading model");
      reply.status = 503;
      break;
    case HealthState::kOverloaded:
      body["status"] = "overloaded";
      unavailable("Every slot is busy and the queue is full");
      reply.status = 503;
      break;
    case HealthState::kReady:
      body["status"] = "ok";
      reply.status = 200;
      break;
  }
  if (state != HealthState::kLoading && load.slots_total > 0) {
    body["slots_busy"] = load.slots_busy;
    body["slots_total"] = load.slots_total;
    body["queued"] = load.queued;
    body["queue_limit"] = load.queue_limit;
  }
  reply.body = body.dump();
  return reply;
}

void Health::set_load_getter(std::function<ServerLoad()> getter) {
  std::lock_guard<std::mutex> lock(mutex_);
  getter_ = std::move(getter);
}

ServerLoad Health::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return getter_ ? getter_() : ServerLoad{};
}

HealthReply Health::reply() const {
  const bool loaded = ready();
  const ServerLoad now = loaded ? load() : ServerLoad{};
  return render_health_reply(health_state(loaded, now), now);
}

}  // namespace gemma4::serve
