#include "progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace gemma4::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) bytes /= 1024, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

int terminal_width() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) return size.ws_col;
  return 80;
}

class Bar {
 public:
  void update(const Progress& p) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    if (p.what != what_) {
      if (open_) std::fputc('\n', stderr);
      what_ = p.what;
      start_ = now;
      start_done_ = p.done;
      last_draw_ = Clock::time_point{};
      open_ = false;
    }
    const bool finished = p.total >= 0 && p.done >= p.total;
    if (!finished && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(p, std::chrono::duration<double>(now - start_).count());
    open_ = !finished;
    if (finished) {
      std::fputc('\n', stderr);
      what_.clear();
    }
    std::fflush(stderr);
  }

 private:
  void draw(const Progress& p, double seconds) {
    const bool bytes = p.unit == "B";
    std::string tail;
    if (bytes) {
      tail = human_bytes(static_cast<double>(p.done));
      if (p.total >= 0) tail += " / " + human_bytes(static_cast<double>(p.total));
      const double rate = seconds > 0.05 ? static_cast<double>(p.done - start_done_) / seconds : 0.0;
      if (rate > 0) {
        tail += "  " + human_bytes(rate) + "/s";
        if (p.total > p.done) tail += "  ETA " + clock_text(static_cast<double>(p.total - p.done) / rate);
      }
    } else {
      tail = std::to_string(p.done) + (p.total >= 0 ? "/" + std::to_string(p.total) : "") + " " + p.unit;
    }
    std::string line;
    const int width = terminal_width() - 1;
    if (p.total > 0) {
      const double fraction = std::clamp(static_cast<double>(p.done) / static_cast<double>(p.total), 0.0, 1.0);
      char percent[8];
      std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
      const int cells = 24;
      const int full = static_cast<int>(fraction * cells);
      line = std::string(percent) + " [" + std::string(full, '#') + std::string(cells - full, '.') + "] " + tail;
    } else {
      line = tail;
    }
    std::string what = p.what;
    const int room = width - static_cast<int>(line.size()) - 1;
    if (room < static_cast<int>(what.size())) what = room > 3 ? "..." + what.substr(what.size() - (room - 3)) : "";
    std::fprintf(stderr, "\r%s %s\x1b[K", what.c_str(), line.c_str());
  }

  std::mutex mutex_;
  std::string what_;
  Clock::time_point start_, last_draw_;
  int64_t start_done_ = 0;
  bool open_ = false;
};

}  // namespace

ProgressCallback stderr_progress(bool quiet) {
  if (quiet || ::isatty(STDERR_FILENO) == 0) return {};
  auto bar = std::make_shared<Bar>();
  return [bar](const Progress& p) { bar->update(p); };
}

}  // namespace gemma4::cli
