// Writing GGUF v3 files: metadata of any value type, then tensors, each padded to the alignment.
// Tensor bytes are produced one tensor at a time while writing, so converting a large model needs memory for
// one converted tensor, not the whole model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/gguf.h"

namespace gemma4::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kDefaultAlignment);

  void add_string(const std::string& key, const std::string& value);
  void add_u32(const std::string& key, uint32_t value);
  void add_i32(const std::string& key, int32_t value);
  void add_f32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& values);
  void add_f32_array(const std::string& key, const std::vector<float>& values);
  void add_bool_array(const std::string& key, const std::vector<bool>& values);

  // Fills `out` with exactly the tensor's bytes (dtype_row_bytes(dtype, cols) * rows).
  using Producer = std::function<void(std::vector<uint8_t>& out)>;
  // `shape` in NumPy order (rows first); GGUF stores it reversed.
  void add_tensor(const std::string& name, DType dtype, const Shape& shape, Producer producer);

  // Writes everything to `path` (through a temporary file renamed at the end). Throws naming the file.
  void write(const std::string& path) const;

  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    Shape shape;
    size_t nbytes;
    Producer producer;
  };
  void begin_kv(const std::string& key, ValueType type);

  uint32_t alignment_;
  std::vector<uint8_t> kv_bytes_;
  uint64_t kv_count_ = 0;
  std::vector<PendingTensor> tensors_;
};

}  // namespace gemma4::gguf
