#include "formats/gguf.h"

#include <gemma4/error.h>

#include <algorithm>
#include <utility>
#include <charconv>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace gemma4::gguf {
namespace {

// Limits that keep a corrupt count from asking for absurd allocations before the bounds checks catch it.
constexpr uint64_t kMaxDims = 4;  // GGML_MAX_DIMS

std::string hex_u32(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", value);
  return buf;
}

// Sequential little-endian reads from the mapping; every read is bounds-checked and a short read is an error
// that says what was being read and where.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& path) : data_(data), size_(size), path_(path) {}

  size_t pos() const { return pos_; }

  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > size_ - pos_) {
      throw Error("GGUF file '" + path_ + "' is truncated: reading " + what + " at byte " + std::to_string(pos_) +
                  " needs " + std::to_string(bytes) + " bytes but the file has " + std::to_string(size_ - pos_) +
                  " left (file size " + std::to_string(size_) + ")");
    }
  }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>(what + " (length)");
    need(length, what);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

size_t scalar_size(ValueType type) {
  switch (type) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
    case ValueType::kU16: case ValueType::kI16: return 2;
    case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
    case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
    default: return 0;
  }
}

// The double nearest the shortest decimal that rounds to `value`: an f32 1e-6 reads as 1e-6, not 9.99999997e-7,
// so configs read from GGUF print (and round-trip) as they were written.
double f32_as_decimal(float value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::strtod(std::string(buf, result.ptr).c_str(), nullptr);
}

bool valid_type(uint32_t raw) { return raw <= static_cast<uint32_t>(ValueType::kF64); }

// Reads one scalar of `type` as an integer (ints, bools) or a double (floats).
void read_scalar(Reader& r, ValueType type, int64_t& i, double& f, const std::string& what,
                 const std::string& path) {
  switch (type) {
    case ValueType::kU8: i = r.read<uint8_t>(what); return;
    case ValueType::kI8: i = r.read<int8_t>(what); return;
    case ValueType::kU16: i = r.read<uint16_t>(what); return;
    case ValueType::kI16: i = r.read<int16_t>(what); return;
    case ValueType::kU32: i = r.read<uint32_t>(what); return;
    case ValueType::kI32: i = r.read<int32_t>(what); return;
    case ValueType::kI64: i = r.read<int64_t>(what); return;
    case ValueType::kU64: {
      const uint64_t value = r.read<uint64_t>(what);
      if (value > static_cast<uint64_t>(INT64_MAX)) {
        throw Error("GGUF file '" + path + "': " + what + " is the u64 " + std::to_string(value) +
                    ", too large to use");
      }
      i = static_cast<int64_t>(value);
      return;
    }
    case ValueType::kBool: {
      const uint8_t value = r.read<uint8_t>(what);
      if (value > 1) throw Error("GGUF file '" + path + "': " + what + " is a bool with byte value " + std::to_string(value));
      i = value;
      return;
    }
    case ValueType::kF32: f = r.read<float>(what); return;
    case ValueType::kF64: f = r.read<double>(what); return;
    default: throw Error("GGUF file '" + path + "': " + what + " is not a scalar");
  }
}

}  // namespace

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "?";
}

bool is_integer_type(ValueType type) {
  return scalar_size(type) != 0 && type != ValueType::kF32 && type != ValueType::kF64;
}

bool is_float_type(ValueType type) { return type == ValueType::kF32 || type == ValueType::kF64; }

size_t Value::array_size() const {
  if (!is_array()) return 0;
  if (elem_type == ValueType::kString) return strings.size();
  if (is_float_type(elem_type)) return floats.size();
  return ints.size();
}

namespace {

// ggml type ids (enum ggml_type in ggml.h) of the tensor types gemma4.cpp reads.
constexpr std::pair<uint32_t, DType> kGgmlTypes[] = {
    {0, DType::F32},      {1, DType::F16},      {2, DType::Q4_0},    {3, DType::Q4_1},     {6, DType::Q5_0},
    {7, DType::Q5_1},     {8, DType::Q8_0},     {10, DType::Q2_K},   {11, DType::Q3_K},    {12, DType::Q4_K},
    {13, DType::Q5_K},    {14, DType::Q6_K},    {16, DType::IQ2_XXS}, {17, DType::IQ2_XS}, {18, DType::IQ3_XXS},
    {19, DType::IQ1_S},   {20, DType::IQ4_NL},  {21, DType::IQ3_S},  {22, DType::IQ2_S},   {23, DType::IQ4_XS},
    {26, DType::I32},     {27, DType::I64},     {29, DType::IQ1_M},  {30, DType::BF16},    {34, DType::TQ1_0},
    {35, DType::TQ2_0},   {39, DType::MXFP4},   {40, DType::NVFP4},  {41, DType::Q1_0},    {42, DType::Q2_0},
};

}  // namespace

std::optional<DType> dtype_from_ggml(uint32_t type_id) {
  for (const auto& [id, type] : kGgmlTypes) {
    if (id == type_id) return type;
  }
  return std::nullopt;
}

uint32_t ggml_type_id(DType type) {
  for (const auto& [id, t] : kGgmlTypes) {
    if (t == type) return id;
  }
  throw Error(std::string("GGUF has no tensor type for ") + dtype_name(type));
}

std::string ggml_type_name(uint32_t type_id) {
  static const char* const names[] = {
      "F32", "F16", "Q4_0", "Q4_1", "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
      "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL",
      "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", "Q4_0_4_4 (removed)",
      "Q4_0_4_8 (removed)", "Q4_0_8_8 (removed)", "TQ1_0", "TQ2_0", "IQ4_NL_4_4 (removed)",
      "IQ4_NL_4_8 (removed)", "IQ4_NL_8_8 (removed)", "MXFP4", "NVFP4", "Q1_0", "Q2_0"};
  if (type_id < sizeof(names) / sizeof(names[0])) return names[type_id];
  return "unknown";
}

Shape TensorInfo::shape() const { return Shape(ne.rbegin(), ne.rend()); }

std::shared_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::shared_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->file_ = MappedFile::open(path);
  file->parse();
  return file;
}

void GgufFile::parse() {
  const std::string& p = path_;
  Reader r(file_->data(), file_->size(), p);
  if (file_->size() < 4 || std::memcmp(file_->data(), "GGUF", 4) != 0) {
    std::string found;
    if (file_->size() < 4) {
      found = "a file of " + std::to_string(file_->size()) + " bytes";
    } else {
      found.assign(reinterpret_cast<const char*>(file_->data()), 4);
      found = "'" + found + "'";
    }
    throw Error("'" + p + "' is not a GGUF file: it starts with " + found + " instead of the magic 'GGUF'");
  }
  r.read<uint32_t>("magic");
  version_ = r.read<uint32_t>("version");
  if (version_ == 1) throw Error("GGUF file '" + p + "' is version 1, which is not supported (only v2 and v3)");
  if (version_ != 2 && version_ != 3) {
    throw Error("GGUF file '" + p + "' has version " + std::to_string(version_) + " (" + hex_u32(version_) +
                "); only v2 and v3 little-endian files are supported");
  }
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  // Each entry takes at least 8 (key length) + 4 (type) bytes; each tensor info at least 8 + 4 + 4 + 8.
  if (n_kv > file_->size() / 12 || n_tensors > file_->size() / 24) {
    throw Error("GGUF file '" + p + "' claims " + std::to_string(n_kv) + " metadata entries and " +
                std::to_string(n_tensors) + " tensors, more than its " + std::to_string(file_->size()) +
                " bytes can hold (truncated or corrupt header)");
  }

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = r.read_string("metadata key #" + std::to_string(k));
    const std::string what = "metadata '" + key + "'";
    const uint32_t raw_type = r.read<uint32_t>(what + " (type)");
    if (!valid_type(raw_type)) {
      throw Error("GGUF file '" + p + "': " + what + " has invalid value type " + std::to_string(raw_type));
    }
    Value value;
    value.type = static_cast<ValueType>(raw_type);
    if (value.type == ValueType::kString) {
      value.str = r.read_string(what);
    } else if (value.type == ValueType::kArray) {
      const uint32_t raw_elem = r.read<uint32_t>(what + " (array type)");
      if (!valid_type(raw_elem) || raw_elem == static_cast<uint32_t>(ValueType::kArray)) {
        throw Error("GGUF file '" + p + "': " + what + " is an array of unsupported element type " +
                    std::to_string(raw_elem));
      }
      value.elem_type = static_cast<ValueType>(raw_elem);
      const uint64_t count = r.read<uint64_t>(what + " (array length)");
      // A string takes at least 8 bytes; a scalar its size: check before reserving.
      const uint64_t min_elem = value.elem_type == ValueType::kString ? 8 : scalar_size(value.elem_type);
      if (count > (file_->size() - r.pos()) / min_elem) {
        throw Error("GGUF file '" + p + "' is truncated: " + what + " claims " + std::to_string(count) +
                    " elements but only " + std::to_string(file_->size() - r.pos()) + " bytes are left");
      }
      if (value.elem_type == ValueType::kString) {
        value.strings.reserve(count);
        for (uint64_t e = 0; e < count; ++e) value.strings.push_back(r.read_string(what + "[" + std::to_string(e) + "]"));
      } else if (is_float_type(value.elem_type)) {
        value.floats.resize(count);
        int64_t unused = 0;
        for (uint64_t e = 0; e < count; ++e) read_scalar(r, value.elem_type, unused, value.floats[e], what, p);
      } else {
        value.ints.resize(count);
        double unused = 0;
        for (uint64_t e = 0; e < count; ++e) read_scalar(r, value.elem_type, value.ints[e], unused, what, p);
      }
    } else {
      read_scalar(r, value.type, value.i, value.f, what, p);
      if (value.type == ValueType::kF32) value.f = f32_as_decimal(static_cast<float>(value.f));
    }
    if (!metadata_index_.emplace(key, metadata_.size()).second) {
      throw Error("GGUF file '" + p + "': metadata key '" + key + "' appears twice");
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const Value* align = find("general.alignment")) {
    if (align->type != ValueType::kU32) {
      throw Error("GGUF file '" + p + "': general.alignment must be a u32, found " + value_type_name(align->type));
    }
    if (align->i == 0 || (align->i & (align->i - 1)) != 0) {
      throw Error("GGUF file '" + p + "': general.alignment is " + std::to_string(align->i) + ", not a power of two");
    }
    alignment_ = static_cast<size_t>(align->i);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    TensorInfo info;
    info.name = r.read_string("tensor info #" + std::to_string(t) + " (name)");
    const std::string what = "tensor '" + info.name + "'";
    const uint32_t n_dims = r.read<uint32_t>(what + " (dimension count)");
    if (n_dims > kMaxDims) {
      throw Error("GGUF file '" + p + "': " + what + " has " + std::to_string(n_dims) + " dimensions (at most 4)");
    }
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t extent = r.read<uint64_t>(what + " (dimension " + std::to_string(d) + ")");
      if (extent > (uint64_t{1} << 40) || (extent != 0 && numel > (uint64_t{1} << 62) / extent)) {
        throw Error("GGUF file '" + p + "': " + what + " has an absurd dimension " + std::to_string(extent));
      }
      numel *= extent;
      info.ne.push_back(static_cast<int64_t>(extent));
    }
    info.type_id = r.read<uint32_t>(what + " (type)");
    info.offset = r.read<uint64_t>(what + " (offset)");
    const auto dtype = dtype_from_ggml(info.type_id);
    if (!dtype) {
      throw Error("GGUF file '" + p + "': " + what + " has ggml type " + std::to_string(info.type_id) + " (" +
                  ggml_type_name(info.type_id) +
                  "), which gemma4.cpp cannot read (it reads every ggml storage type but Q8_1, Q8_K, I8, I16 and F64)");
    }
    info.dtype = *dtype;
    const int64_t row = info.ne.empty() ? 1 : info.ne[0];
    if (row % dtype_block_elems(info.dtype) != 0) {
      throw Error("GGUF file '" + p + "': " + what + " is " + dtype_name(info.dtype) + " with rows of " +
                  std::to_string(row) + " elements, not a multiple of its block size " +
                  std::to_string(dtype_block_elems(info.dtype)));
    }
    info.nbytes = static_cast<size_t>(numel / static_cast<uint64_t>(dtype_block_elems(info.dtype)) *
                                      static_cast<uint64_t>(dtype_block_bytes(info.dtype)));
    if (info.offset % alignment_ != 0) {
      throw Error("GGUF file '" + p + "': " + what + " starts at data offset " + std::to_string(info.offset) +
                  ", not a multiple of the alignment " + std::to_string(alignment_));
    }
    if (!tensor_index_.emplace(info.name, tensors_.size()).second) {
      throw Error("GGUF file '" + p + "': tensor name '" + info.name + "' appears twice");
    }
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment after the tensor infos.
  data_offset_ = (r.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > file_->size()) {
    throw Error("GGUF file '" + p + "' is truncated: the data section should start at byte " +
                std::to_string(data_offset_) + " but the file has " + std::to_string(file_->size()) + " bytes");
  }
  const uint64_t data_size = file_->size() - std::min<uint64_t>(data_offset_, file_->size());
  for (const auto& info : tensors_) {
    if (info.offset > data_size || info.nbytes > data_size - info.offset) {
      throw Error("GGUF file '" + p + "': tensor '" + info.name + "' (" + dtype_name(info.dtype) + ", shape " +
                  shape_to_string(info.shape()) + ") occupies data bytes [" + std::to_string(info.offset) + ", " +
                  std::to_string(info.offset + info.nbytes) + ") but the data section holds only " +
                  std::to_string(data_size) + " bytes (truncated file or bad offset)");
    }
  }
  // No two tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& info : tensors_) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& next = *by_offset[i];
    if (prev.nbytes > 0 && next.offset < prev.offset + prev.nbytes) {
      throw Error("GGUF file '" + p + "': tensor '" + next.name + "' (data bytes from " + std::to_string(next.offset) +
                  ") overlaps tensor '" + prev.name + "' (data bytes [" + std::to_string(prev.offset) + ", " +
                  std::to_string(prev.offset + prev.nbytes) + "))");
    }
  }
}

const Value* GgufFile::find(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::optional<int64_t> GgufFile::get_int_opt(const std::string& key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!is_integer_type(v->type)) {
    throw Error("GGUF file '" + path_ + "': metadata '" + key + "' should be an integer but is a " +
                value_type_name(v->type));
  }
  return v->i;
}

int64_t GgufFile::get_int(const std::string& key) const {
  auto v = get_int_opt(key);
  if (!v) throw Error("GGUF file '" + path_ + "': required metadata '" + key + "' is missing");
  return *v;
}

std::optional<double> GgufFile::get_float_opt(const std::string& key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (is_float_type(v->type)) return v->f;
  if (is_integer_type(v->type) && v->type != ValueType::kBool) return static_cast<double>(v->i);
  throw Error("GGUF file '" + path_ + "': metadata '" + key + "' should be a number but is a " +
              value_type_name(v->type));
}

double GgufFile::get_float(const std::string& key) const {
  auto v = get_float_opt(key);
  if (!v) throw Error("GGUF file '" + path_ + "': required metadata '" + key + "' is missing");
  return *v;
}

std::optional<std::string> GgufFile::get_string_opt(const std::string& key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != ValueType::kString) {
    throw Error("GGUF file '" + path_ + "': metadata '" + key + "' should be a string but is a " +
                value_type_name(v->type));
  }
  return v->str;
}

std::string GgufFile::get_string(const std::string& key) const {
  auto v = get_string_opt(key);
  if (!v) throw Error("GGUF file '" + path_ + "': required metadata '" + key + "' is missing");
  return *v;
}

const TensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::view(const TensorInfo& info) const {
  TensorView out;
  out.dtype = info.dtype;
  out.shape = info.shape();
  out.data = file_->data() + data_offset_ + info.offset;
  out.nbytes = info.nbytes;
  return out;
}

}  // namespace gemma4::gguf
