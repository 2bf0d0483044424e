// Generic GGUF (v2/v3) reading: header, metadata of every value type, tensor infos, data-section checks.
// Nothing here knows about Gemma; formats/gguf_model.cc turns a GgufFile into a LoadedModel.
//
// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
// (string key, u32 value type, value), the tensor infos (string name, u32 n_dims, u64 ne[n_dims] with ne[0]
// the contiguous dimension, u32 ggml type, u64 offset relative to the data section), padding to
// `general.alignment` (default 32), then the data section.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace gemma4::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* value_type_name(ValueType type);

// One metadata value. Scalars keep their numeric value in `i` (integers and bools) or `f` (floats);
// arrays keep their elements in `ints`, `floats` or `strings` according to `elem_type`.
struct Value {
  ValueType type = ValueType::kU32;
  ValueType elem_type = ValueType::kU32;  // arrays only
  int64_t i = 0;  // u64 values above INT64_MAX are rejected when read
  double f = 0;
  std::string str;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool is_array() const { return type == ValueType::kArray; }
  size_t array_size() const;
};

bool is_integer_type(ValueType type);  // u8..i64 and bool
bool is_float_type(ValueType type);

// ggml type ids of the tensor types gemma4.cpp reads, and their names for messages about the others.
std::optional<DType> dtype_from_ggml(uint32_t type_id);
uint32_t ggml_type_id(DType type);  // throws for types GGUF cannot hold
std::string ggml_type_name(uint32_t type_id);

constexpr uint32_t kDefaultAlignment = 32;

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: ne[0] is the contiguous dimension
  uint32_t type_id = 0;
  DType dtype = DType::F32;
  uint64_t offset = 0;  // relative to the data section
  size_t nbytes = 0;
  Shape shape() const;  // NumPy order (ne reversed)
};

class GgufFile {
 public:
  // Maps and parses `path`. Throws gemma4::Error naming the file (and the key or tensor) for every
  // malformation: wrong magic, unsupported version, truncation, bad value types, unsupported tensor types,
  // data out of range or overlapping, a bad alignment.
  static std::shared_ptr<GgufFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(const std::string& key) const;
  // Typed getters: a missing key or a value of the wrong kind is an error naming the file and the key.
  int64_t get_int(const std::string& key) const;
  std::optional<int64_t> get_int_opt(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::optional<double> get_float_opt(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::optional<std::string> get_string_opt(const std::string& key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(const std::string& name) const;
  // A view of the tensor's bytes inside the mapping (shape in NumPy order).
  TensorView view(const TensorInfo& info) const;
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

 private:
  GgufFile() = default;
  void parse();

  std::shared_ptr<MappedFile> file_;
  std::string path_;
  uint32_t version_ = 0;
  size_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace gemma4::gguf
