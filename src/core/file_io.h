// Whole-file reading and crash-safe writing: the one place that talks to the OS about file contents.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace gemma4 {

// The whole file; throws gemma4::Error "cannot read '<path>': <OS reason>".
std::string read_file(const std::string& path);

// Where an atomic write puts its bytes (a temporary file beside the target).
class FileSink {
 public:
  // Throws gemma4::Error naming the target file and the OS reason (e.g. "No space left on device").
  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }

 private:
  friend void write_file_atomic(const std::string&, const std::function<void(FileSink&)>&);
  FileSink(int fd, const std::string& target) : fd_(fd), target_(target) {}
  int fd_;
  const std::string& target_;
};

// Writes `path` so that it is either the old file or the complete new one, never a part: `produce` writes into
// a temporary file in the same folder, which is flushed to disk (fsync) and then renamed over `path`. If
// `produce` throws or any step fails, the temporary file is removed, `path` is untouched and the error
// (gemma4::Error naming the file and the OS reason, or whatever `produce` threw) propagates.
void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& produce);
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace gemma4
