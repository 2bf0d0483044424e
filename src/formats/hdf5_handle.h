// What every HDF5 reader here shares: handles that close themselves, HDF5's own reason for a failure, and
// the string attributes Keras (h5py) writes.
#pragma once

#include <hdf5.h>

#include <functional>
#include <string>
#include <utility>

namespace gemma4 {

// An HDF5 identifier closed (with the matching H5*close) when it goes out of scope; ok() is false when the
// call that made it failed (a negative id).
class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Handle() {
    if (id_ >= 0) close_(id_);
  }
  H5Handle(H5Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  H5Handle& operator=(H5Handle&& other) noexcept {
    std::swap(id_, other.id_);
    std::swap(close_, other.close_);
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Turns off HDF5's printing of its error stack to stderr (once per process); our errors carry hdf5_reason().
void quiet_hdf5();

// The most specific messages of the current HDF5 error stack (e.g. "truncated file: eof = ..."), then clears it.
std::string hdf5_reason();

// The value of a string attribute (variable-length as h5py writes it, or fixed-length), or "" if absent.
std::string h5_string_attribute(hid_t object, const char* name);

// Runs `read` (which opens `path` with libhdf5) first in a forked child process. libhdf5 1.10 crashes on some
// damaged files (e.g. a local heap whose size makes its allocation fail is then copied from a NULL pointer); a
// crash in the child becomes an Error naming the file instead of killing this process. When the child
// succeeds, or fails with an ordinary error, the caller reads the file itself (and reports that error).
void survive_hdf5(const std::string& path, const std::function<void()>& read);

}  // namespace gemma4
