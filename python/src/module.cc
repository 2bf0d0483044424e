// gemma4cpp._core: the C++ side of the gemma4cpp package. The Python files (python/gemma4cpp/) give it
// KerasHub's names; this module stays a thin layer over include/gemma4/.
#include <gemma4/error.h>
#include <gemma4/load_options.h>

#include <algorithm>
#include <map>

#include "bindings.h"

namespace gemma4::python {

LoadOptions load_options_from(const py::dict& options, std::vector<std::string> extra_keys) {
  LoadOptions out;
  for (const auto& [key_handle, value] : options) {
    const std::string key = py::cast<std::string>(key_handle);
    if (key == "load_weights") {
      out.load_weights = py::cast<bool>(value);
    } else if (key == "dtype") {
      out.dtype = value.is_none() ? "" : py::cast<std::string>(value);
    } else if (key == "seed") {
      out.seed = py::cast<uint64_t>(value);
    } else if (key == "overrides") {
      out.overrides = py::cast<std::map<std::string, std::string>>(value);
    } else if (key == "lora_adapters") {
      out.lora_adapters = py::cast<std::vector<std::string>>(value);
    } else if (key == "quantize") {
      out.quantize = value.is_none() ? "" : py::cast<std::string>(value);
    } else if (key == "mmproj") {
      out.mmproj = value.is_none() ? "" : py::cast<std::string>(value);
    } else if (key == "threads") {
      out.threads = py::cast<int>(value);
    } else if (std::find(extra_keys.begin(), extra_keys.end(), key) == extra_keys.end()) {
      throw py::value_error("unknown load option '" + key + "'");
    }
  }
  return out;
}

}  // namespace gemma4::python

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  using namespace gemma4::python;
  m.doc() = "gemma4.cpp's C++ API (include/gemma4/) for the gemma4cpp package";
  // Every library error (a message naming what is wrong and where) arrives as gemma4cpp.Error.
  py::register_exception<gemma4::Error>(m, "Error", PyExc_RuntimeError);
  m.def("set_num_threads", &gemma4::set_num_threads, py::arg("threads"),
        "Threads the library computes with (process-wide; default: the machine's hardware threads).");
  m.def("num_threads", &gemma4::num_threads);
  bind_config(m);
  bind_backbone(m);
  bind_tokenizer(m);
  bind_causal_lm(m);
}
