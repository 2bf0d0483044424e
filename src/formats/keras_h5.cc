#include "formats/keras_h5.h"

#include <gemma4/error.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/hdf5_handle.h"
#include "formats/json_file.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

std::string type_description(hid_t type) {
  const char* kind = "unknown";
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: kind = "integer"; break;
    case H5T_FLOAT: kind = "float"; break;
    case H5T_STRING: kind = "string"; break;
    case H5T_OPAQUE: kind = "opaque"; break;
    case H5T_COMPOUND: kind = "compound"; break;
    default: break;
  }
  return std::string(kind) + " of " + std::to_string(H5Tget_size(type)) + " bytes";
}

constexpr int kMaxRank = 8;
constexpr uint64_t kMaxDatasetBytes = uint64_t{1} << 40;  // 1 TiB: one tensor of the largest model is far less

// Keras writes contiguous datasets, whose stored size is their size; a dataset that stores fewer bytes than its
// shape needs (never written: HDF5 would return fill values) or a compressed one that expands more than
// kMaxCompression times is refused before anything is allocated for it.
void check_storage(hid_t dataset, const KerasDataset& entry, const std::string& file, const std::string& path) {
  constexpr uint64_t kMaxCompression = 1024;
  if (entry.nbytes == 0) return;
  const hsize_t stored = H5Dget_storage_size(dataset);
  H5Handle plist(H5Dget_create_plist(dataset), H5Pclose);
  const H5D_layout_t layout = plist.ok() ? H5Pget_layout(plist.get()) : H5D_LAYOUT_ERROR;
  H5Eclear2(H5E_DEFAULT);
  const bool chunked = layout == H5D_CHUNKED;
  if ((!chunked && stored < entry.nbytes) || (chunked && stored * kMaxCompression < entry.nbytes)) {
    throw Error(file + ": dataset '" + path + "' has shape " + shape_to_string(entry.shape) + " (" +
                std::to_string(entry.nbytes) + " bytes) but the file stores " + std::to_string(stored) +
                " bytes for it (truncated, never written, or damaged)");
  }
}

// The file's datasets, found by walking its groups ourselves rather than with H5Lvisit: a damaged or hostile
// file can link a group into itself (HDF5 then recurses without end), so the depth and the number of objects
// visited are bounded. Keras paths are a few levels deep ("layers/<name>/<sublayer>/vars/0").
constexpr int kMaxGroupDepth = 32;
constexpr size_t kMaxObjects = 200000;

struct VisitState {
  std::string file;
  std::string prefix;  // the group being listed, "" or ending in "/"
  int depth = 0;
  size_t objects = 0;
  std::vector<std::string> dataset_paths;
  std::string error;  // set when a bound is passed; the walk stops (no C++ exception crosses libhdf5's frames)
};

herr_t visit_link(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  auto& state = *static_cast<VisitState*>(data);
  if (info->type != H5L_TYPE_HARD) return 0;  // Keras never writes soft or external links
  if (++state.objects > kMaxObjects) {
    state.error = state.file + ": holds more than " + std::to_string(kMaxObjects) + " objects (a cycle of links?)";
    return -1;
  }
  H5Handle object(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return 0;
  const H5I_type_t type = H5Iget_type(object.get());
  const std::string path = state.prefix + name;
  if (type == H5I_DATASET) {
    state.dataset_paths.push_back(path);
  } else if (type == H5I_GROUP) {
    if (state.depth + 1 > kMaxGroupDepth) {
      state.error = state.file + ": groups nest more than " + std::to_string(kMaxGroupDepth) + " levels deep at '" +
                    path.substr(0, 200) + "' (a cycle of links?)";
      return -1;
    }
    VisitState inner;
    inner.file = state.file;
    inner.prefix = path + "/";
    inner.depth = state.depth + 1;
    inner.objects = state.objects;
    inner.dataset_paths = std::move(state.dataset_paths);
    const herr_t status = H5Literate(object.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, visit_link, &inner);
    state.objects = inner.objects;
    state.dataset_paths = std::move(inner.dataset_paths);
    state.error = std::move(inner.error);
    if (status < 0) return -1;
  }
  return 0;
}

}  // namespace

struct KerasH5Store::OpenFile {
  H5Handle file{-1, H5Fclose};
  hid_t id() const { return file.get(); }
};

KerasH5Store::~KerasH5Store() = default;

std::unique_ptr<KerasH5Store> KerasH5Store::open(const std::string& path) {
  quiet_hdf5();
  std::unique_ptr<KerasH5Store> store(new KerasH5Store());
  store->description_ = path;
  if (fs::path(path).extension() != ".json") {
    store->index_file(path);
    return store;
  }
  // Sharded: {"metadata": {...}, "weight_map": {"/layers/dense/vars": "model_00000.weights.h5", ...}}.
  // A group whose variables were split across shards lists every shard holding some of them.
  const nlohmann::json index = read_json_file(path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(path + ": a sharded Keras weights index needs a \"weight_map\" object");
  }
  const fs::path folder = fs::path(path).parent_path();
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  std::vector<std::string> shard_order;
  std::set<std::string> seen;
  for (const auto& [group, value] : index["weight_map"].items()) {
    std::vector<std::string> shards;
    if (value.is_string()) {
      shards.push_back(value.get<std::string>());
    } else if (value.is_array()) {
      for (const auto& entry : value) {
        if (!entry.is_string()) throw Error(path + ": weight_map entry '" + group + "' lists a non-string shard");
        shards.push_back(entry.get<std::string>());
      }
    } else {
      throw Error(path + ": weight_map entry '" + group + "' is neither a shard file name nor a list of them");
    }
    for (const auto& shard : shards) {
      if (shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos) {
        throw Error(path + ": weight_map entry '" + group + "' names '" + shard + "', which is not a file beside it");
      }
      if (seen.insert(shard).second) shard_order.push_back(shard);
    }
    groups.emplace_back(group, std::move(shards));
  }
  if (shard_order.empty()) throw Error(path + ": weight_map names no shard files");
  for (const auto& shard : shard_order) {
    const fs::path shard_path = folder / shard;
    if (!fs::exists(shard_path)) {
      throw Error(path + ": shard '" + shard + "' listed in weight_map does not exist in " + folder.string());
    }
    store->index_file(shard_path.string());
  }
  // Every listed group must be in (one of) the shards the index names for it.
  for (const auto& [group, shards] : groups) {
    bool found = false;
    for (const auto& shard : shards) {
      const auto& file = store->files_.at((folder / shard).string());
      std::string name = group.empty() || group[0] != '/' ? "/" + group : group;
      if (H5Lexists(file->id(), name.c_str(), H5P_DEFAULT) > 0) found = true;
      H5Eclear2(H5E_DEFAULT);
    }
    if (!found) {
      throw Error(path + ": weight_map puts '" + group + "' in " + shards.front() + ", but that shard has no such group");
    }
  }
  return store;
}

void KerasH5Store::index_file(const std::string& file) {
  if (!fs::exists(file)) throw Error("Keras weights file '" + file + "' does not exist");
  survive_hdf5(file, [&] {
    KerasH5Store probe;
    probe.index_file_unprobed(file);
  });
  index_file_unprobed(file);
}

void KerasH5Store::index_file_unprobed(const std::string& file) {
  if (H5Fis_hdf5(file.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(file + ": not an HDF5 file (a Keras .weights.h5 file was expected)");
  }
  auto open_file = std::make_unique<OpenFile>();
  open_file->file = H5Handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!open_file->file.ok()) throw Error(file + ": cannot open the HDF5 file (truncated or damaged?): " + hdf5_reason());
  VisitState state;
  state.file = file;
  const herr_t listed = H5Literate(open_file->id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, visit_link, &state);
  if (!state.error.empty()) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(state.error);
  }
  if (listed < 0) {
    throw Error(file + ": cannot list the HDF5 file's contents (truncated or damaged?): " + hdf5_reason());
  }
  for (const auto& path : state.dataset_paths) {
    H5Handle dataset(H5Dopen2(open_file->id(), path.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.ok()) throw Error(file + ": cannot open dataset '" + path + "': " + hdf5_reason());
    H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
    H5Handle type(H5Dget_type(dataset.get()), H5Tclose);
    if (!space.ok() || !type.ok()) throw Error(file + ": cannot read the header of dataset '" + path + "': " + hdf5_reason());
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw Error(file + ": dataset '" + path + "' has no simple shape");
    if (rank > kMaxRank) {
      throw Error(file + ": dataset '" + path + "' has " + std::to_string(rank) + " dimensions, above the limit of " +
                  std::to_string(kMaxRank));
    }
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) {
      throw Error(file + ": cannot read the shape of dataset '" + path + "': " + hdf5_reason());
    }

    KerasDataset entry;
    entry.file = file;
    for (hsize_t dim : dims) entry.shape.push_back(static_cast<int64_t>(dim));
    const size_t element_size = H5Tget_size(type.get());
    const H5T_class_t type_class = H5Tget_class(type.get());
    const std::string marked = h5_string_attribute(dataset.get(), "dtype");
    if (marked == "bfloat16" && element_size == 2) {
      entry.dtype = DType::BF16;
    } else if (type_class == H5T_FLOAT && H5Tget_order(type.get()) == H5T_ORDER_LE && element_size == 4) {
      entry.dtype = DType::F32;
    } else if (type_class == H5T_FLOAT && H5Tget_order(type.get()) == H5T_ORDER_LE && element_size == 2) {
      entry.dtype = DType::F16;
    } else {
      throw Error(file + ": dataset '" + path + "' holds " + type_description(type.get()) +
                  (marked.empty() ? std::string() : " marked dtype='" + marked + "'") +
                  "; expected little-endian float32, float16 or bfloat16");
    }
    // The byte count HDF5's header claims, multiplied out without overflow and bounded, then compared with
    // what the file stores: a header is not trusted to size an allocation by itself.
    uint64_t count = 1;
    for (hsize_t dim : dims) {
      if (dim != 0 && count > kMaxDatasetBytes / element_size / dim) {
        throw Error(file + ": dataset '" + path + "' has shape " + shape_to_string(entry.shape) + ", more than the limit of " +
                    std::to_string(kMaxDatasetBytes) + " bytes");
      }
      count *= dim;
    }
    entry.nbytes = static_cast<size_t>(count) * element_size;
    check_storage(dataset.get(), entry, file, path);
    auto [it, inserted] = datasets_.emplace(path, entry);
    if (!inserted) throw Error("dataset '" + path + "' appears twice: in " + it->second.file + " and in " + file);
  }
  files_.emplace(file, std::move(open_file));
}

const KerasDataset* KerasH5Store::find(const std::string& path) const {
  auto it = datasets_.find(path);
  return it == datasets_.end() ? nullptr : &it->second;
}

void KerasH5Store::read(const std::string& path, std::vector<uint8_t>& out) const {
  const KerasDataset* entry = find(path);
  if (entry == nullptr) throw Error(description_ + ": no dataset '" + path + "'");
  const OpenFile& file = *files_.at(entry->file);
  H5Handle dataset(H5Dopen2(file.id(), path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) throw Error(entry->file + ": cannot open dataset '" + path + "': " + hdf5_reason());
  H5Handle type(H5Dget_type(dataset.get()), H5Tclose);
  out.resize(entry->nbytes);
  if (entry->nbytes == 0) return;
  // Reading with the stored type as the memory type copies the bytes unconverted.
  if (H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    throw Error(entry->file + ": cannot read dataset '" + path + "' (" + std::to_string(entry->nbytes) +
                " bytes; truncated file?): " + hdf5_reason());
  }
}

}  // namespace gemma4
