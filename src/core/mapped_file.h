// A read-only memory mapping of a whole file; weights are used straight from it where possible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gemma4 {

class MappedFile {
 public:
  // Maps `path` read-only; throws gemma4::Error naming the file if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace gemma4
