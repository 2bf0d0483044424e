#include "formats/gguf_writer.h"

#include <gemma4/error.h>

#include <cstdio>
#include <cstring>

#include "core/file_io.h"

namespace gemma4::gguf {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

size_t padding(size_t size, size_t alignment) { return (alignment - size % alignment) % alignment; }

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    throw Error("GGUF alignment must be a power of two (got " + std::to_string(alignment) + ")");
  }
  if (alignment != kDefaultAlignment) add_u32("general.alignment", alignment);
}

void GgufWriter::begin_kv(const std::string& key, ValueType type) {
  put_string(kv_bytes_, key);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(type));
  ++kv_count_;
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_kv(key, ValueType::kString);
  put_string(kv_bytes_, value);
}

void GgufWriter::add_u32(const std::string& key, uint32_t value) {
  begin_kv(key, ValueType::kU32);
  put<uint32_t>(kv_bytes_, value);
}

void GgufWriter::add_i32(const std::string& key, int32_t value) {
  begin_kv(key, ValueType::kI32);
  put<int32_t>(kv_bytes_, value);
}

void GgufWriter::add_f32(const std::string& key, float value) {
  begin_kv(key, ValueType::kF32);
  put<float>(kv_bytes_, value);
}

void GgufWriter::add_bool(const std::string& key, bool value) {
  begin_kv(key, ValueType::kBool);
  put<uint8_t>(kv_bytes_, value ? 1 : 0);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  begin_kv(key, ValueType::kArray);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(ValueType::kString));
  put<uint64_t>(kv_bytes_, values.size());
  for (const auto& v : values) put_string(kv_bytes_, v);
}

void GgufWriter::add_i32_array(const std::string& key, const std::vector<int32_t>& values) {
  begin_kv(key, ValueType::kArray);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(ValueType::kI32));
  put<uint64_t>(kv_bytes_, values.size());
  for (int32_t v : values) put<int32_t>(kv_bytes_, v);
}

void GgufWriter::add_f32_array(const std::string& key, const std::vector<float>& values) {
  begin_kv(key, ValueType::kArray);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(ValueType::kF32));
  put<uint64_t>(kv_bytes_, values.size());
  for (float v : values) put<float>(kv_bytes_, v);
}

void GgufWriter::add_bool_array(const std::string& key, const std::vector<bool>& values) {
  begin_kv(key, ValueType::kArray);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(ValueType::kBool));
  put<uint64_t>(kv_bytes_, values.size());
  for (bool v : values) put<uint8_t>(kv_bytes_, v ? 1 : 0);
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, const Shape& shape, Producer producer) {
  ggml_type_id(dtype);  // throws for types GGUF cannot hold
  TensorView probe;
  probe.dtype = dtype;
  probe.shape = shape;
  const size_t nbytes = static_cast<size_t>(probe.rows()) * dtype_row_bytes(dtype, probe.cols());
  tensors_.push_back({name, dtype, shape, nbytes, std::move(producer)});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head = {'G', 'G', 'U', 'F'};
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head.insert(head.end(), kv_bytes_.begin(), kv_bytes_.end());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<uint64_t>(head, static_cast<uint64_t>(*it));
    put<uint32_t>(head, ggml_type_id(t.dtype));
    put<uint64_t>(head, offset);
    offset += t.nbytes + padding(t.nbytes, alignment_);
  }
  head.resize(head.size() + padding(head.size(), alignment_), 0);

  write_file_atomic(path, [&](FileSink& out) {
    out.write(head.data(), head.size());
    std::vector<uint8_t> bytes;
    const std::vector<char> zeros(alignment_, 0);
    for (const auto& t : tensors_) {
      bytes.clear();
      t.producer(bytes);
      if (bytes.size() != t.nbytes) {
        throw Error("writing '" + path + "': tensor '" + t.name + "' produced " + std::to_string(bytes.size()) +
                    " bytes, expected " + std::to_string(t.nbytes) + " for " + dtype_name(t.dtype) + " " +
                    shape_to_string(t.shape));
      }
      out.write(bytes.data(), bytes.size());
      out.write(zeros.data(), padding(bytes.size(), alignment_));
    }
  });
}

}  // namespace gemma4::gguf
