// The weight files Keras 3 writes with `save_weights`: one model.weights.h5, or the sharded form
// (model.weights.json + model_00000.weights.h5, model_00001.weights.h5, ...).
//
// Inside, every object's variables are HDF5 datasets "<object path>/vars/<i>", e.g.
// "layers/gemma4_text_decoder_block_3/attention/query_dense/vars/0". Paths here have no leading "/".
// Keras writes float32 and float16 as native HDF5 floats and bfloat16 as 2-byte values marked with
// the attribute dtype="bfloat16"; all three are read as stored (no conversion).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace gemma4 {

struct KerasDataset {
  std::string file;  // the .h5 file holding it
  Shape shape;       // empty for a scalar
  DType dtype = DType::F32;
  size_t nbytes = 0;
};

class KerasH5Store {
 public:
  // `path` is a model.weights.h5 file or a sharded model.weights.json; throws naming the file on
  // anything unreadable (truncated or not HDF5, a shard missing, an unsupported element type).
  static std::unique_ptr<KerasH5Store> open(const std::string& path);
  ~KerasH5Store();
  KerasH5Store(const KerasH5Store&) = delete;
  KerasH5Store& operator=(const KerasH5Store&) = delete;

  const std::map<std::string, KerasDataset>& datasets() const { return datasets_; }
  const KerasDataset* find(const std::string& path) const;
  // Reads a dataset's bytes (row-major, as stored) into `out`, resized to fit.
  void read(const std::string& path, std::vector<uint8_t>& out) const;

  const std::string& description() const { return description_; }  // the .h5 or .json path

 private:
  KerasH5Store() = default;
  void index_file(const std::string& file);           // survive_hdf5, then index_file_unprobed
  void index_file_unprobed(const std::string& file);

  struct OpenFile;
  std::map<std::string, std::unique_ptr<OpenFile>> files_;  // by file path
  std::map<std::string, KerasDataset> datasets_;            // by dataset path
  std::string description_;
};

}  // namespace gemma4
