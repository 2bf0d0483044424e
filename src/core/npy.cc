#include <gemma4/npy.h>

#include <gemma4/error.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/file_io.h"

namespace gemma4 {
namespace {

std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) throw Error(path + ": .npy header has no '" + key + "'");
  auto colon = header.find(':', at);
  auto begin = header.find_first_not_of(' ', colon + 1);
  if (header[begin] == '(') return header.substr(begin, header.find(')', begin) - begin + 1);
  if (header[begin] == '\'') return header.substr(begin + 1, header.find('\'', begin + 1) - begin - 1);
  return header.substr(begin, header.find_first_of(",}", begin) - begin);
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length, header_start;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else {
    uint32_t length;
    std::memcpy(&length, bytes.data() + 8, 4);
    header_length = length;
    header_start = 12;
  }
  if (header_start + header_length > bytes.size()) throw Error(path + ": truncated .npy header");
  const std::string header = bytes.substr(header_start, header_length);
  const std::string descr = header_value(header, "descr", path);
  if (header_value(header, "fortran_order", path) != "False") throw Error(path + ": Fortran-ordered arrays are not supported");
  NpyArray array;
  std::string shape_text = header_value(header, "shape", path);
  for (size_t i = 1; i < shape_text.size();) {
    const size_t end = shape_text.find_first_of(",)", i);
    const std::string number = shape_text.substr(i, end - i);
    if (number.find_first_not_of(' ') != std::string::npos) array.shape.push_back(std::stoll(number));
    i = end + 1;
  }
  int64_t count = 1;
  for (int64_t dim : array.shape) count *= dim;
  const char* data = bytes.data() + header_start + header_length;
  const size_t available = bytes.size() - header_start - header_length;
  size_t element;
  if (descr == "<f4" || descr == "<i4") element = 4;
  else if (descr == "<f8" || descr == "<i8") element = 8;
  else if (descr == "|u1" || descr == "|b1" || descr == "<u1" || descr == "|i1") element = 1;
  else throw Error(path + ": unsupported .npy element type '" + descr + "'");
  if (available < static_cast<size_t>(count) * element) throw Error(path + ": truncated .npy data");
  array.values.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const char* p = data + i * element;
    if (descr == "<f4") { float v; std::memcpy(&v, p, 4); array.values[i] = v; }
    else if (descr == "<i4") { int32_t v; std::memcpy(&v, p, 4); array.values[i] = v; }
    else if (descr == "<f8") { double v; std::memcpy(&v, p, 8); array.values[i] = v; }
    else if (descr == "<i8") { int64_t v; std::memcpy(&v, p, 8); array.values[i] = static_cast<double>(v); }
    else if (descr == "|i1") { array.values[i] = static_cast<int8_t>(*p); }
    else { array.values[i] = static_cast<unsigned char>(*p); }
  }
  return array;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string shape_text = "(";
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    shape_text += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
    if (i + 1 < shape.size()) shape_text += " ";
    count *= shape[i];
  }
  shape_text += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  write_file_atomic(path, [&](FileSink& out) {
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t length = static_cast<uint16_t>(header.size());
    out.write(&length, 2);
    out.write(header);
    out.write(data, static_cast<size_t>(count) * sizeof(float));
  });
}

}  // namespace gemma4
