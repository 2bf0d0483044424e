// An exclusive lock on a lock file (flock), held for a scope: two processes downloading the same blob
// take turns, and the second then finds the file complete. huggingface_hub's filelock uses the same
// flock on the same .locks/ files, so it and we also take turns.
#pragma once

#include <string>

namespace gemma4::hub {

class FileLock {
 public:
  // Creates the file (and its folder) if needed and blocks until the lock is ours.
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace gemma4::hub
