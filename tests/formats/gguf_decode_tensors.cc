// Test helper: reads a GGUF file with gemma4.cpp's reader and decodes every tensor with kernels::dequantize
// (the reference decoders).
//
//   gemma4_gguf_decode_tensors FILE.gguf OUT_DIR     writes OUT_DIR/NAME.f32 (raw float32) per tensor and
//                                                    prints "NAME TYPE BLOCK_ELEMS BLOCK_BYTES" per tensor
//   gemma4_gguf_decode_tensors --sizes               prints "GGML_ID NAME BLOCK_ELEMS BLOCK_BYTES" per type
// An unreadable file prints the reader's error and exits 1.
#include <gemma4/error.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "kernels/matmul.h"

using namespace gemma4;

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "--sizes") {
      for (uint32_t id = 0; id < 64; ++id) {
        const auto type = gguf::dtype_from_ggml(id);
        if (!type) continue;
        std::cout << id << ' ' << dtype_name(*type) << ' ' << dtype_block_elems(*type) << ' '
                  << dtype_block_bytes(*type) << '\n';
      }
      return 0;
    }
    if (argc != 3) {
      std::cerr << "usage: gemma4_gguf_decode_tensors FILE.gguf OUT_DIR | --sizes\n";
      return 2;
    }
    const auto file = gguf::GgufFile::open(argv[1]);
    for (const auto& info : file->tensors()) {
      const TensorView view = file->view(info);
      std::vector<float> values(static_cast<size_t>(view.numel()));
      kernels::dequantize(view.dtype, view.data, view.numel(), values.data());
      std::ofstream out(std::string(argv[2]) + "/" + info.name + ".f32", std::ios::binary);
      out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
      std::cout << info.name << ' ' << dtype_name(view.dtype) << ' ' << dtype_block_elems(view.dtype) << ' '
                << dtype_block_bytes(view.dtype) << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
