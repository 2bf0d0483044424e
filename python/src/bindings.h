// Shared pieces of the gemma4cpp._core module: the bind_* functions of each file and the NumPy helpers.
// The bindings use the public API (include/gemma4/) only.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gemma4/load_options.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gemma4::python {

namespace py = pybind11;

void bind_config(py::module_& m);
void bind_backbone(py::module_& m);
void bind_tokenizer(py::module_& m);
void bind_causal_lm(py::module_& m);

// A vector handed to NumPy without a copy: the array owns it (through a capsule) from now on.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values, const std::vector<py::ssize_t>& shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), owner);
}

// LoadOptions from the dict the Python side builds (keys: load_weights, dtype, seed, overrides, lora_adapters,
// quantize, mmproj, threads). Unknown keys are a ValueError naming them.
LoadOptions load_options_from(const py::dict& options, std::vector<std::string> extra_keys = {});

}  // namespace gemma4::python
