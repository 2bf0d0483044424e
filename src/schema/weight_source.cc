#include "schema/weight_source.h"

#include <gemma4/error.h>

namespace gemma4 {

void WeightSource::add(const std::string& name, const TensorView& view, const std::string& origin) {
  auto [it, inserted] = tensors_.emplace(name, SourceTensor{view, origin});
  if (!inserted) {
    throw Error("tensor '" + name + "' appears twice: in " + it->second.origin + " and in " + origin);
  }
}

const SourceTensor* WeightSource::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightSource::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, tensor] : tensors_) out.push_back(name);
  return out;
}

std::vector<uint8_t>& WeightSource::new_buffer(size_t bytes) {
  auto buffer = std::make_shared<std::vector<uint8_t>>(bytes);
  auto& ref = *buffer;
  owners_.push_back(std::move(buffer));
  return ref;
}

}  // namespace gemma4
