// The HTTP layer's limits for `gemma4 serve` (cpp-httplib 0.11): connection threads, a bounded queue of
// accepted connections, timeouts and keep-alive. What each guards against is in docs/reliability.md.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gemma4::serve_http {

struct HttpLimits {
  size_t connection_threads = 64;  // connections served at once (a slow client holds one for its duration)
  size_t queued_connections = 256;  // accepted and waiting for a thread; beyond it accept() waits (backpressure)
  int read_timeout_s = 10;          // a client silent this long while sending its request is dropped
  int write_timeout_s = 10;         // a client not reading for this long (e.g. gone mid-stream) is dropped
  int keep_alive_timeout_s = 5;     // an idle keep-alive connection is closed after this
  size_t keep_alive_max_requests = 100;
  int listen_backlog = 1024;        // connections the kernel holds before accept()
};

// httplib's own ThreadPool queues every accepted connection without bound (thousands of opened connections
// would each hold a socket and a queue entry). This one holds at most `capacity` waiting connections; when full,
// enqueue() (called by the accept loop) waits, so further clients wait in the kernel's listen backlog.
class BoundedConnectionQueue : public httplib::TaskQueue {
 public:
  BoundedConnectionQueue(size_t threads, size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
    for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedConnectionQueue() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mutex_);
    space_.wait(lock, [&] { return jobs_.size() < capacity_ || stopping_; });
    jobs_.push_back(std::move(fn));  // after shutdown began, still run: the task closes its socket
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping and nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      space_.notify_one();
      fn();
    }
  }

  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when Debian built the library): a
// burst of clients overflows it and some see their connection reset. Calling listen() again on the bound socket
// (found by its port) raises the backlog; the kernel caps it at net.core.somaxconn.
inline void widen_listen_backlog(int port, int backlog) {
  const int max_fd = static_cast<int>(sysconf(_SC_OPEN_MAX));
  for (int fd = 0; fd < max_fd && fd < 65536; ++fd) {
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    if (bound == port) ::listen(fd, backlog);
  }
}

inline void apply_http_limits(httplib::Server& server, const HttpLimits& limits) {
  server.new_task_queue = [limits] {
    return new BoundedConnectionQueue(limits.connection_threads, limits.queued_connections);
  };
  server.set_read_timeout(limits.read_timeout_s, 0);
  server.set_write_timeout(limits.write_timeout_s, 0);
  server.set_keep_alive_timeout(limits.keep_alive_timeout_s);
  server.set_keep_alive_max_count(limits.keep_alive_max_requests);
}

}  // namespace gemma4::serve_http
