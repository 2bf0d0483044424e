#include "formats/safetensors.h"

#include <gemma4/error.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file_io.h"
#include "core/mapped_file.h"
#include "formats/json_file.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

DType parse_dtype(const std::string& text, const std::string& where) {
  if (text == "F32") return DType::F32;
  if (text == "BF16") return DType::BF16;
  if (text == "F16") return DType::F16;
  if (text == "I32") return DType::I32;
  if (text == "I64") return DType::I64;
  if (text == "U8") return DType::U8;
  throw Error(where + ": unsupported dtype '" + text + "' (supported: F32, BF16, F16, I32, I64, U8)");
}

const char* dtype_to_safetensors(DType type) {
  switch (type) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
    default: throw Error(std::string("safetensors cannot store dtype ") + dtype_name(type));
  }
}

}  // namespace

std::string canonical_hf_name(const std::string& hf_name) {
  static const char* const kPrefixes[] = {"model.language_model.", "language_model.model.", "model."};
  for (const char* prefix : kPrefixes) {
    const std::string p(prefix);
    if (hf_name.compare(0, p.size(), p) == 0) return hf_name.substr(p.size());
  }
  return hf_name;
}

void read_safetensors_file(const std::string& path, WeightSource& source, const std::string& name_prefix,
                           bool canonicalize) {
  auto file = MappedFile::open(path);
  read_safetensors_bytes(file->data(), file->size(), path, source, name_prefix, canonicalize);
  source.keep_alive(file);
}

void read_safetensors_bytes(const uint8_t* bytes, size_t file_size, const std::string& path, WeightSource& source,
                            const std::string& name_prefix, bool canonicalize) {
  if (file_size < 8) throw Error(path + ": too short for a safetensors file (" + std::to_string(file_size) + " bytes)");
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes, 8);
  // The safetensors library's own bound (MAX_HEADER_SIZE, 100,000,000 bytes): a header is JSON text of
  // names, dtypes and shapes, far smaller even for the biggest models.
  constexpr uint64_t kMaxHeaderBytes = 100000000;
  if (header_size > kMaxHeaderBytes) {
    throw Error(path + ": header length " + std::to_string(header_size) + " is above the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes; the file is damaged or not safetensors");
  }
  if (header_size > file_size - 8) {
    throw Error(path + ": header length " + std::to_string(header_size) + " runs past the end of the file (" +
                std::to_string(file_size) + " bytes); the file is truncated or not safetensors");
  }
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const json::exception& e) {
    throw Error(path + ": the safetensors header is not valid JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(path + ": the safetensors header is not a JSON object");

  const uint8_t* data_begin = bytes + 8 + header_size;
  const size_t data_size = file_size - 8 - header_size;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<std::string> range_names;

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    constexpr size_t kMaxNameBytes = 4096;
    if (name.size() > kMaxNameBytes) {
      throw Error(path + ": a tensor name of " + std::to_string(name.size()) + " bytes is longer than the limit of " +
                  std::to_string(kMaxNameBytes));
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      throw Error(where + ": entry needs dtype, shape and data_offsets");
    }
    TensorView view;
    if (!entry["dtype"].is_string()) throw Error(where + ": dtype must be a string, not " + entry["dtype"].dump());
    view.dtype = parse_dtype(entry["dtype"].get<std::string>(), where);
    if (!entry["shape"].is_array()) throw Error(where + ": shape must be a list, not " + entry["shape"].dump());
    if (entry["shape"].size() > 8) {
      throw Error(where + ": shape has " + std::to_string(entry["shape"].size()) + " dimensions, above the limit of 8");
    }
    for (const auto& dim : entry["shape"]) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) throw Error(where + ": bad shape " + entry["shape"].dump());
      view.shape.push_back(dim.get<int64_t>());
    }
    // A shape with more elements than the data section has bytes cannot fit; checked before multiplying out, so
    // that dimensions near 2^63 cannot overflow the element count.
    if (std::find(view.shape.begin(), view.shape.end(), 0) == view.shape.end()) {
      uint64_t count = 1;
      for (const int64_t dim : view.shape) {
        if (count > data_size / static_cast<uint64_t>(dim)) {
          throw Error(where + ": shape " + shape_to_string(view.shape) + " has more elements than the file's " +
                      std::to_string(data_size) + " data bytes");
        }
        count *= static_cast<uint64_t>(dim);
      }
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      throw Error(where + ": data_offsets must be two non-negative integers");
    }
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") fall outside the " + std::to_string(data_size) + " data bytes (truncated file?)");
    }
    const uint64_t expected = static_cast<uint64_t>(view.numel()) * dtype_block_bytes(view.dtype);
    if (end - begin != expected) {
      throw Error(where + ": holds " + std::to_string(end - begin) + " bytes but shape " +
                  shape_to_string(view.shape) + " of " + dtype_name(view.dtype) + " needs " + std::to_string(expected));
    }
    view.data = data_begin + begin;
    view.nbytes = end - begin;
    ranges.emplace_back(begin, end);
    range_names.push_back(name);
    source.add(name_prefix + (canonicalize ? canonical_hf_name(name) : name), view, path);
  }

  // Tensors must not share bytes.
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& previous = ranges[order[i - 1]];
    const auto& current = ranges[order[i]];
    if (current.first < previous.second && current.first != current.second) {
      throw Error(path + ": tensors '" + range_names[order[i - 1]] + "' and '" + range_names[order[i]] +
                  "' overlap in the file");
    }
  }
}

WeightSource read_safetensors_folder(const std::string& folder) {
  WeightSource source;
  source.description = folder;
  const fs::path dir(folder);
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    const json index = read_json_file(index_path.string());
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw Error(index_path.string() + ": has no \"weight_map\" object");
    }
    std::set<std::string> shards;
    for (const auto& [name, shard] : index["weight_map"].items()) shards.insert(shard.get<std::string>());
    for (const auto& shard : shards) {
      const fs::path shard_path = dir / shard;
      if (!fs::exists(shard_path)) {
        throw Error(index_path.string() + " names shard '" + shard + "', which is not in " + folder);
      }
      read_safetensors_file(shard_path.string(), source);
    }
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!source.contains(canonical_hf_name(name))) {
        throw Error(index_path.string() + ": tensor '" + name + "' is listed in shard '" + shard.get<std::string>() +
                    "' but that shard does not hold it");
      }
    }
  } else if (fs::exists(dir / "model.safetensors")) {
    read_safetensors_file((dir / "model.safetensors").string(), source);
  } else {
    throw Error("no weights in '" + folder + "': expected model.safetensors or model.safetensors.index.json");
  }
  // Sentence-transformers pooling head of embedding models (EmbeddingGemma layout).
  for (const auto& [sub, name] : {std::pair{"2_Dense", "pooling_head.dense_1."}, std::pair{"3_Dense", "pooling_head.dense_2."}}) {
    const fs::path path = dir / sub / "model.safetensors";
    if (fs::exists(path)) read_safetensors_file(path.string(), source, name, false);
  }
  return source;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    json entry;
    entry["dtype"] = dtype_to_safetensors(tensor.view.dtype);
    entry["shape"] = tensor.view.shape;
    entry["data_offsets"] = {offset, offset + tensor.view.nbytes};
    header[tensor.name] = entry;
    offset += tensor.view.nbytes;
  }
  std::string header_text = header.dump();
  while ((header_text.size() + 8) % 8 != 0) header_text.push_back(' ');
  write_file_atomic(path, [&](FileSink& out) {
    const uint64_t header_size = header_text.size();
    out.write(&header_size, 8);
    out.write(header_text);
    for (const auto& tensor : tensors) out.write(tensor.view.data, tensor.view.nbytes);
  });
}

}  // namespace gemma4
