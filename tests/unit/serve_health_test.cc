// GET /health's states and bodies: loading and overloaded are 503 with llama-server's unavailable_error body,
// ready is 200 {"status": "ok"}; overloaded means every slot busy and the queue full.
#include <gemma4/serve_health.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gemma4::serve {
namespace {

TEST(ServeHealth, States) {
  EXPECT_EQ(health_state(false, {}), HealthState::kLoading);
  EXPECT_EQ(health_state(true, {}), HealthState::kReady);  // no slot information: ready
  EXPECT_EQ(health_state(true, {1, 4, 0, 8}), HealthState::kReady);
  EXPECT_EQ(health_state(true, {4, 4, 7, 8}), HealthState::kReady);       // queue not full yet
  EXPECT_EQ(health_state(true, {4, 4, 8, 8}), HealthState::kOverloaded);  // all busy, queue full
  EXPECT_EQ(health_state(true, {1, 1, 0, 0}), HealthState::kOverloaded);  // no queue: the slot busy is overload
}

TEST(ServeHealth, BodiesAndStatus) {
  const HealthReply loading = render_health_reply(HealthState::kLoading, {});
  EXPECT_EQ(loading.status, 503);
  const auto l = nlohmann::json::parse(loading.body);
  EXPECT_EQ(l["status"], "loading");
  EXPECT_EQ(l["error"]["message"], "Loading model");
  EXPECT_EQ(l["error"]["type"], "unavailable_error");
  EXPECT_EQ(l["error"]["code"], 503);

  const HealthReply ready = render_health_reply(HealthState::kReady, {2, 4, 0, 8});
  EXPECT_EQ(ready.status, 200);
  const auto r = nlohmann::json::parse(ready.body);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["slots_busy"], 2);
  EXPECT_FALSE(r.contains("error"));

  const HealthReply overloaded = render_health_reply(HealthState::kOverloaded, {4, 4, 8, 8});
  EXPECT_EQ(overloaded.status, 503);
  EXPECT_EQ(nlohmann::json::parse(overloaded.body)["status"], "overloaded");
}

TEST(ServeHealth, GetterReadAtEachProbe) {
  Health health;
  EXPECT_EQ(health.reply().status, 503);  // loading until set_ready
  int64_t busy = 0;
  health.set_load_getter([&] { return ServerLoad{busy, 1, 0, 0}; });
  health.set_ready();
  EXPECT_EQ(health.reply().status, 200);
  busy = 1;
  EXPECT_EQ(health.reply().status, 503);
  busy = 0;
  EXPECT_EQ(health.reply().status, 200);
}

}  // namespace
}  // namespace gemma4::serve
