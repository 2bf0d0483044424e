#include "formats/hdf5_handle.h"

#include <gemma4/error.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace gemma4 {
namespace {

herr_t collect_error(unsigned, const H5E_error2_t* error, void* data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  if (error->desc != nullptr && *error->desc != '\0') messages->push_back(error->desc);
  return 0;
}

}  // namespace

void quiet_hdf5() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

std::string hdf5_reason() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "HDF5 gave no reason";
  std::string reason = messages.back();
  if (messages.size() > 1 && messages.front() != reason) reason = messages.front() + ": " + reason;
  return reason;
}

std::string h5_string_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return "";
  H5Handle attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) return "";
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return "";
  std::string value;
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    char* text = nullptr;
    if (H5Aread(attr.get(), memory.get(), &text) >= 0 && text != nullptr) {
      value = text;
      H5free_memory(text);
    }
  } else {
    std::vector<char> text(H5Tget_size(type.get()) + 1, '\0');
    if (H5Aread(attr.get(), type.get(), text.data()) >= 0) value = text.data();
  }
  H5Eclear2(H5E_DEFAULT);
  return value;
}

void survive_hdf5(const std::string& path, const std::function<void()>& read) {
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return;  // no process to spare: read in this one
  if (child == 0) {
    // The default actions, so that a crash ends the child by its signal (not through a handler of the parent's,
    // such as a sanitizer's or a fuzzer's, that would exit with a status instead).
    for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(signal, SIG_DFL);
    int status = 0;
    try {
      read();
    } catch (...) {
      status = 1;  // an ordinary error: the parent reads again and reports it
    }
    ::_exit(status);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return;
  }
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    throw Error(path + ": libhdf5 crashed (" + std::string(strsignal(signal)) +
                ") reading this file's structure; the file is damaged or not a valid HDF5 file");
  }
}

}  // namespace gemma4
