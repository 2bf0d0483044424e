#include "formats/lora_writer.h"

#include <gemma4/error.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "formats/hdf5_handle.h"
#include "formats/safetensors.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

void check_array(const Float32Array& array, const std::string& what) {
  if (array.values == nullptr || element_count(array.shape) != static_cast<int64_t>(array.values->size())) {
    throw Error("LoRA writer: " + what + " has " + std::to_string(array.values ? array.values->size() : 0) +
                " values, which does not fit its shape");
  }
}

TensorView view_of(const Float32Array& array) {
  return TensorView{DType::F32, array.shape, reinterpret_cast<const uint8_t*>(array.values->data()),
                    array.values->size() * sizeof(float)};
}

// A group chain "a/b/c" under `parent`, creating what is missing.
hid_t make_groups(hid_t file, const std::string& path, std::vector<H5Handle>& keep) {
  hid_t current = file;
  std::string partial;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    const std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    partial += (partial.empty() ? "" : "/") + part;
    hid_t group = H5Lexists(file, partial.c_str(), H5P_DEFAULT) > 0 ? H5Gopen2(file, partial.c_str(), H5P_DEFAULT)
                                                                      : H5Gcreate2(file, partial.c_str(), H5P_DEFAULT,
                                                                                   H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0) throw Error("cannot create HDF5 group '" + partial + "': " + hdf5_reason());
    keep.emplace_back(group, H5Gclose);
    current = group;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return current;
}

void write_dataset(hid_t group, const char* name, const Float32Array& array, const std::string& where) {
  std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle dataset(H5Dcreate2(group, name, H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose);
  if (!dataset.ok() || H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.values->data()) < 0) {
    throw Error("cannot write HDF5 dataset '" + where + "/" + name + "': " + hdf5_reason());
  }
}

}  // namespace

void write_peft_adapter(const std::string& folder, const PeftAdapterFile& adapter) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot create the adapter folder '" + folder + "': " + ec.message());
  std::vector<NamedTensor> tensors;
  for (const PeftModuleFactors& m : adapter.modules) {
    check_array(m.lora_a, m.module + ".lora_A");
    check_array(m.lora_b, m.module + ".lora_B");
    tensors.push_back({m.module + ".lora_A.weight", view_of(m.lora_a)});
    tensors.push_back({m.module + ".lora_B.weight", view_of(m.lora_b)});
  }
  write_safetensors((fs::path(folder) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  // PEFT's LoraConfig fields (peft/tuners/lora/config.py) that describe these factors.
  nlohmann::ordered_json config;
  config["peft_type"] = "LORA";
  config["task_type"] = "CAUSAL_LM";
  config["r"] = adapter.r;
  config["lora_alpha"] = adapter.lora_alpha;
  config["lora_dropout"] = 0.0;
  config["bias"] = "none";
  config["fan_in_fan_out"] = false;
  config["use_rslora"] = false;
  config["use_dora"] = false;
  config["target_modules"] = adapter.target_modules;
  config["rank_pattern"] = adapter.rank_pattern;
  config["alpha_pattern"] = adapter.alpha_pattern;
  write_file_atomic((fs::path(folder) / "adapter_config.json").string(), config.dump(2) + "\n");
}

void write_keras_lora_file(const std::string& path, int64_t rank, const std::vector<KerasLoraEntry>& entries) {
  quiet_hdf5();
  // The core driver without a backing store keeps the whole file in memory; its image is then written out.
  H5Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!access.ok() || H5Pset_fapl_core(access.get(), 1 << 20, 0) < 0) {
    throw Error(path + ": cannot set up an in-memory HDF5 file: " + hdf5_reason());
  }
  std::vector<char> image;
  {
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
    if (!file.ok()) throw Error(path + ": cannot create an HDF5 file: " + hdf5_reason());
    {
      std::vector<H5Handle> groups;
      hid_t vars = make_groups(file.get(), "lora/vars", groups);
      H5Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
      H5Handle dataset(H5Dcreate2(vars, "rank", H5T_STD_I64LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       H5Dclose);
      const long long value = rank;
      if (!dataset.ok() || H5Dwrite(dataset.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
        throw Error(path + ": cannot write lora/vars/rank: " + hdf5_reason());
      }
      for (const KerasLoraEntry& entry : entries) {
        const std::string where = "lora/" + std::to_string(entry.index) + "/vars";
        check_array(entry.a, where + "/lora_kernel_a");
        check_array(entry.b, where + "/lora_kernel_b");
        std::vector<H5Handle> entry_groups;
        hid_t group = make_groups(file.get(), where, entry_groups);
        write_dataset(group, "lora_kernel_a", entry.a, where);
        write_dataset(group, "lora_kernel_b", entry.b, where);
      }
    }
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw Error(path + ": cannot flush the HDF5 file: " + hdf5_reason());
    const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
    if (size <= 0) throw Error(path + ": cannot get the HDF5 file image: " + hdf5_reason());
    image.resize(static_cast<size_t>(size));
    if (H5Fget_file_image(file.get(), image.data(), image.size()) != size) {
      throw Error(path + ": cannot copy the HDF5 file image: " + hdf5_reason());
    }
  }
  write_file_atomic(path, std::string_view(image.data(), image.size()));
}

}  // namespace gemma4
