#include "core/file_io.h"

#include <gemma4/error.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gemma4 {
namespace {

std::string os_reason(int error) { return std::strerror(error); }

// The folder part of `path` ("." for a bare name), for the temporary file and the folder fsync.
std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A name no other writer (thread or process) picks at the same time: <path>.tmp.<pid>.<counter>.
std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read '" + path + "': " + os_reason(errno));
  std::string content;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) content.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw Error("cannot read '" + path + "': " + os_reason(saved));
    }
    content.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  return content;
}

void FileSink::write(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t put = ::write(fd_, bytes, size);
    if (put < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + target_ + "': " + os_reason(errno));
    }
    bytes += put;
    size -= static_cast<size_t>(put);
  }
}

void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& produce) {
  const std::string tmp = temporary_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw Error("cannot write '" + path + "': cannot create a temporary file in '" + folder_of(path) +
                "': " + os_reason(errno));
  }
  auto fail = [&](const std::string& step, int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': " + step + ": " + os_reason(error));
  };
  try {
    FileSink sink(fd, path);
    produce(sink);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fsync(fd) != 0) fail("flushing to disk failed", errno);
  if (::close(fd) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': closing failed: " + os_reason(saved));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write '" + path + "': renaming the finished temporary file failed: " + os_reason(saved));
  }
  // The rename itself reaches the disk with the folder's metadata; a failure here loses nothing written.
  const int dir = ::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  write_file_atomic(path, [content](FileSink& sink) { sink.write(content); });
}

}  // namespace gemma4
