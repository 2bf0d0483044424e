// GGUF: the generic reader/writer, ggml's block encodings (Q8_0/Q4_0 out, Q4_K/Q6_K in), and Gemma 4 models
// written by write_gguf_model and read back by load_gguf_model.
#include <gemma4/backbone.h>
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "formats/gguf_model.h"
#include "formats/gguf_writer.h"
#include "formats/model_folder.h"
#include "loading/open_checkpoint.h"
#include "kernels/quantize.h"
#include "kernels/matmul.h"
#include "loading/random_weights.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("gemma4_gguf_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  static const struct Remover {
    fs::path path;
    ~Remover() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } remover{dir};
  return dir;
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

uint16_t f16_bits(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Block encodings, checked against values derived by hand from ggml's reference rules.

TEST(GgufQuant, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 -> d = 1 exactly, so q = round(x) with ties away from zero.
  float x[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, -126.6f, 3.0f};
  uint8_t block[34];
  quantize_row_q8_0(x, 32, block);
  EXPECT_EQ(f16_bits(block), 0x3C00);  // f16 1.0
  const int8_t* q = reinterpret_cast<const int8_t*>(block + 2);
  const int expected[8] = {127, 3, -3, 1, -1, 1, -127, 3};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q[i], expected[i]) << "value " << x[i];
  for (int i = 8; i < 32; ++i) EXPECT_EQ(q[i], 0);
  // All-zero block: d = 0 and all quants 0 (no division by zero).
  float zeros[32] = {};
  quantize_row_q8_0(zeros, 32, block);
  EXPECT_EQ(f16_bits(block), 0);
}

TEST(GgufQuant, Q4_0MatchesGgmlRuleAndNibbleOrder) {
  // v[j] = (j-8)/2 for j < 16 and (7-(j-16))/2 after: the largest magnitude is -4 (j=0), so d = -4/-8 = 0.5,
  // x/d + 8.5 = q + 0.5 -> q = j for j < 16 and 15-(j-16) after; byte i = q_i | q_{i+16} << 4.
  float x[32];
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(j - 8) * 0.5f;
  for (int j = 16; j < 32; ++j) x[j] = static_cast<float>(7 - (j - 16)) * 0.5f;
  uint8_t block[18];
  quantize_row_q4_0(x, 32, block);
  EXPECT_EQ(f16_to_f32(f16_bits(block)), 0.5f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(block[2 + i], i | ((15 - i) << 4)) << "byte " << i;
  float back[32];
  kernels::dequantize(DType::Q4_0, block, 32, back);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], x[j]) << j;
  // Ties on magnitude: the first value of largest magnitude sets the sign of d (+4 first -> d = -0.5), and
  // -4 then maps to 16.5 -> clamped to 15.
  float tie[32] = {4.0f, -4.0f};
  quantize_row_q4_0(tie, 32, block);
  EXPECT_EQ(f16_to_f32(f16_bits(block)), -0.5f);
  EXPECT_EQ(block[2] & 0x0f, 0);   // 4 / -0.5 + 8.5 = 0.5 -> 0
  EXPECT_EQ(block[3] & 0x0f, 15);  // -4 / -0.5 + 8.5 = 16.5 -> 16 -> 15
}

// Q4_K packing of 8 six-bit (scale, min) pairs into 12 bytes, written from the layout description.
void pack_q4_k_scales(const int sc[8], const int mn[8], uint8_t out[12]) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

TEST(GgufQuant, Q4_KDecodesHandBuiltBlock) {
  uint8_t block[144] = {};
  const uint16_t d = f32_to_f16(0.25f), dmin = f32_to_f16(0.5f);
  std::memcpy(block, &d, 2);
  std::memcpy(block + 2, &dmin, 2);
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = 3 + 7 * j;  // up to 52: sub-blocks 4-7 need the high bits
    mn[j] = 60 - 5 * j;
  }
  pack_q4_k_scales(sc, mn, block + 4);
  int q[256];
  for (int e = 0; e < 256; ++e) {
    q[e] = (e * 7 + e / 32) % 16;
    // 64 values per 32 bytes: sub-block 2k in the low nibbles, 2k+1 in the high nibbles.
    const int byte = 16 + (e / 64) * 32 + e % 32;
    block[byte] = static_cast<uint8_t>(block[byte] | (((e / 32) % 2 == 0) ? q[e] : q[e] << 4));
  }
  float out[256];
  kernels::dequantize(DType::Q4_K, block, 256, out);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32;
    const float expected = 0.25f * static_cast<float>(sc[s]) * static_cast<float>(q[e]) - 0.5f * static_cast<float>(mn[s]);
    ASSERT_EQ(out[e], expected) << "element " << e;
  }
}

TEST(GgufQuant, Q6_KDecodesHandBuiltBlock) {
  uint8_t block[210] = {};
  int8_t scales[16];
  for (int s = 0; s < 16; ++s) scales[s] = static_cast<int8_t>(s % 2 ? -(s + 1) * 3 : (s + 1) * 5);
  std::memcpy(block + 192, scales, 16);
  const uint16_t d = f32_to_f16(0.125f);
  std::memcpy(block + 208, &d, 2);
  int q[256];
  for (int e = 0; e < 256; ++e) {
    q[e] = (e * 11 + 5) % 64;
    // Halves of 128; within a half, value r = 32*quad + l: low 4 bits in ql[64h + l + 32*(quad&1)] (low nibble for
    // quad 0/1, high for 2/3), high 2 bits in qh[32h + l] at bit 2*quad.
    const int h = e / 128, r = e % 128, quad = r / 32, l = r % 32;
    const int ql = 64 * h + l + ((quad & 1) ? 32 : 0);
    block[ql] = static_cast<uint8_t>(block[ql] | ((q[e] & 15) << (quad >= 2 ? 4 : 0)));
    block[128 + 32 * h + l] = static_cast<uint8_t>(block[128 + 32 * h + l] | ((q[e] >> 4) << (2 * quad)));
  }
  float out[256];
  kernels::dequantize(DType::Q6_K, block, 256, out);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128;
    const int scale = scales[8 * h + (r % 32) / 16 + 2 * (r / 32)];  // groups of 16 values
    ASSERT_EQ(out[e], 0.125f * static_cast<float>(scale) * static_cast<float>(q[e] - 32)) << "element " << e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The generic file format.

TEST(GgufFileFormat, RoundTripsMetadataAndTensors) {
  const fs::path path = temp_dir() / "generic.gguf";
  gguf::GgufWriter w(64);
  w.add_string("general.architecture", "test");
  w.add_u32("a.u32", 4000000000u);
  w.add_i32("a.i32", -7);
  w.add_f32("a.f32", 1.5f);
  w.add_f32("a.eps", 1e-6f);
  w.add_bool("a.bool", true);
  w.add_string_array("a.strings", {"x", "", "\xe2\x96\x81y"});
  w.add_i32_array("a.ints", {1, -2, 3});
  w.add_f32_array("a.floats", {0.25f, -1e30f});
  w.add_bool_array("a.bools", {true, false, true});
  std::vector<float> values(96);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) - 40.0f;
  w.add_tensor("t.f32", DType::F32, {3, 32}, [&](std::vector<uint8_t>& out) {
    out.resize(values.size() * 4);
    std::memcpy(out.data(), values.data(), out.size());
  });
  w.add_tensor("t.q8", DType::Q8_0, {3, 32}, [&](std::vector<uint8_t>& out) {
    out = encode_matrix(DType::Q8_0, values.data(), 3, 32);
  });
  w.write(path.string());

  auto f = gguf::GgufFile::open(path.string());
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  EXPECT_EQ(f->get_string("general.architecture"), "test");
  EXPECT_EQ(f->get_int("a.u32"), 4000000000LL);
  EXPECT_EQ(f->get_int("a.i32"), -7);
  EXPECT_EQ(f->get_float("a.f32"), 1.5);
  EXPECT_EQ(f->get_float("a.eps"), 1e-6);  // the shortest decimal of the f32, not 9.99999997e-7
  EXPECT_EQ(f->get_int("a.bool"), 1);
  EXPECT_EQ(f->find("a.strings")->strings, (std::vector<std::string>{"x", "", "\xe2\x96\x81y"}));
  EXPECT_EQ(f->find("a.ints")->ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f->find("a.floats")->floats, (std::vector<double>{0.25, static_cast<double>(-1e30f)}));
  EXPECT_EQ(f->find("a.bools")->ints, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_THROW(f->get_string("a.i32"), Error);
  EXPECT_THROW(f->get_int("missing"), Error);
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorView t = f->view(*f->find_tensor("t.f32"));
  EXPECT_EQ(t.shape, (Shape{3, 32}));
  EXPECT_EQ(std::memcmp(t.data, values.data(), 96 * 4), 0);
  const gguf::TensorInfo* q = f->find_tensor("t.q8");
  EXPECT_EQ(q->ne, (std::vector<int64_t>{32, 3}));
  EXPECT_EQ(q->offset % 64, 0u);
  EXPECT_EQ(q->nbytes, 3u * 34u);
}

// ---------------------------------------------------------------------------------------------------------
// Gemma 4 models through GGUF.

Gemma4Config all_features_config() {
  return config_from_file(std::string(GEMMA4_SOURCE_DIR) + "/tests/oracle/configs/all.json");
}

// Writes a random-weight HF folder (as make-test-model does) once per storage type.
const fs::path& hf_model() {
  static const fs::path dir = [] {
    const fs::path d = temp_dir() / "hf";
    const Gemma4Config config = all_features_config();
    write_hf_folder(d.string(), config, *make_random_weights(config, 7, DType::F32));
    return d;
  }();
  return dir;
}

std::vector<int32_t> test_tokens() {
  std::vector<int32_t> ids = {2};
  std::mt19937 rng(5);
  for (int i = 0; i < 23; ++i) ids.push_back(static_cast<int32_t>(4 + rng() % 508));
  return ids;
}

std::vector<float> logits_of(const std::string& path);

// Logits of the F32 safetensors folder, computed once.
const std::vector<float>& reference_logits() {
  static const std::vector<float> logits = logits_of(hf_model().string());
  return logits;
}

std::vector<float> logits_of(const std::string& path) {
  auto backbone = Backbone::from_folder(path);
  BackboneInputs in;
  in.token_ids = test_tokens();
  in.sequence_length = static_cast<int64_t>(in.token_ids.size());
  return backbone->forward(in).logits;
}

// Next-token log-probability differences: max and mean |difference|, and the fraction of positions whose
// argmax agrees.
struct LogprobDiff {
  double max = 0, mean = 0, argmax = 0;
};
LogprobDiff compare_logprobs(const std::vector<float>& a, const std::vector<float>& b, int64_t vocab) {
  LogprobDiff d;
  const size_t rows = a.size() / static_cast<size_t>(vocab);
  for (size_t row = 0; row < rows; ++row) {
    const float* x = a.data() + row * vocab;
    const float* y = b.data() + row * vocab;
    auto lse = [&](const float* v) {
      double m = -1e300, s = 0;
      for (int64_t i = 0; i < vocab; ++i) m = std::max(m, static_cast<double>(v[i]));
      for (int64_t i = 0; i < vocab; ++i) s += std::exp(v[i] - m);
      return m + std::log(s);
    };
    const double lx = lse(x), ly = lse(y);
    for (int64_t i = 0; i < vocab; ++i) {
      const double diff = std::fabs((x[i] - lx) - (y[i] - ly));
      d.max = std::max(d.max, diff);
      d.mean += diff;
    }
    d.argmax += std::max_element(x, x + vocab) - x == std::max_element(y, y + vocab) - y;
  }
  d.mean /= static_cast<double>(a.size());
  d.argmax /= static_cast<double>(rows);
  return d;
}

std::string converted(DType type, const char* name) {
  const fs::path path = temp_dir() / name;
  if (!fs::exists(path)) write_gguf_model(path.string(), open_checkpoint(hf_model().string()), type);
  return path.string();
}

TEST(GgufModel, F32GgufGivesIdenticalLogitsAndConfig) {
  const std::string gguf_path = converted(DType::F32, "f32.gguf");
  const Checkpoint from_gguf = open_checkpoint(gguf_path);
  EXPECT_EQ(from_gguf.format, "gguf");
  const Gemma4Config& a = from_gguf.config;
  const Gemma4Config b = all_features_config();
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.vocabulary_size, b.vocabulary_size);
  EXPECT_EQ(a.intermediate_dim, b.intermediate_dim);
  EXPECT_EQ(a.use_double_wide_mlp, b.use_double_wide_mlp);
  EXPECT_EQ(a.num_kv_shared_layers, b.num_kv_shared_layers);
  EXPECT_EQ(a.num_global_key_value_heads, b.num_global_key_value_heads);
  EXPECT_EQ(a.global_head_dim, b.global_head_dim);
  EXPECT_EQ(a.hidden_size_per_layer_input, b.hidden_size_per_layer_input);
  EXPECT_EQ(a.num_experts, b.num_experts);
  EXPECT_EQ(a.num_experts_per_token, b.num_experts_per_token);
  EXPECT_EQ(a.expert_intermediate_dim, b.expert_intermediate_dim);
  EXPECT_EQ(a.global_rope_partial_rotary_factor, b.global_rope_partial_rotary_factor);
  EXPECT_EQ(a.final_logit_soft_cap, b.final_logit_soft_cap);
  EXPECT_EQ(a.sliding_window_size, b.sliding_window_size);
  EXPECT_EQ(a.layer_norm_epsilon, b.layer_norm_epsilon);
  EXPECT_EQ(a.global_rope_wavelength.value_or(0), b.global_rope_wavelength.value_or(0));
  EXPECT_EQ(a.local_rope_wavelength.value_or(0), b.local_rope_wavelength.value_or(0));
  for (int64_t l = 0; l < b.num_layers; ++l) {
    EXPECT_EQ(a.layer_type(l), b.layer_type(l)) << l;
    EXPECT_EQ(a.rope_pairs(l), b.rope_pairs(l)) << l;
    EXPECT_EQ(a.ffn_width(l), b.ffn_width(l)) << l;
  }
  ASSERT_NE(from_gguf.tokenizer.bpe, nullptr);
  EXPECT_FALSE(from_gguf.tokenizer.bpe->vocab.empty());

  const std::vector<float>& ours = reference_logits();
  const std::vector<float> theirs = logits_of(gguf_path);
  ASSERT_EQ(ours.size(), theirs.size());
  size_t differing = 0;
  for (size_t i = 0; i < ours.size(); ++i) differing += ours[i] != theirs[i];
  std::printf("[gguf] F32 GGUF vs safetensors: %zu of %zu logits differ (expected 0)\n", differing, ours.size());
  EXPECT_EQ(differing, 0u);
}

TEST(GgufModel, LowerPrecisionGgufsStayWithinMeasuredTolerances) {
  const std::vector<float>& reference = reference_logits();
  const int64_t vocab = all_features_config().vocabulary_size;
  // Tolerances: about 2x the differences measured on this model and these 24 tokens (max / mean |dlogp|:
  // BF16 2.51 / 0.045, Q8_0 2.70 / 0.154, Q4_0 4.28 / 0.83; argmax agreed at every position for all three).
  // Random tiny models with attention scale 1.0 amplify rounding, so the max comes from unlikely tokens.
  struct Case {
    DType type;
    const char* file;
    double max, mean, argmax;
  };
  for (const Case& c : {Case{DType::BF16, "bf16.gguf", 5.0, 0.1, 0.9}, Case{DType::Q8_0, "q8_0.gguf", 5.5, 0.3, 0.9},
                        Case{DType::Q4_0, "q4_0.gguf", 8.5, 1.7, 0.75}}) {
    const LogprobDiff d = compare_logprobs(reference, logits_of(converted(c.type, c.file)), vocab);
    std::printf("[gguf] %s GGUF vs F32 safetensors: max |dlogp| %.4g (tol %.3g), mean %.4g (tol %.3g), "
                "argmax agreement %.1f%% (tol %.0f%%)\n",
                dtype_name(c.type), d.max, c.max, d.mean, c.mean, 100 * d.argmax, 100 * c.argmax);
    EXPECT_LT(d.max, c.max) << dtype_name(c.type);
    EXPECT_LT(d.mean, c.mean) << dtype_name(c.type);
    EXPECT_GE(d.argmax, c.argmax) << dtype_name(c.type);
    EXPECT_GT(d.max, 0.0) << dtype_name(c.type) << ": a lossy type should change something";
  }
}

TEST(GgufModel, Bf16AndF16GgufsMatchSafetensorsOfTheSameTypeExactly) {
  // make-test-model --dtype bf16/f16 stores the matrices in that type; the GGUF of the same type copies them
  // unchanged (norms become F32, which is exact), so the logits must be identical.
  const Gemma4Config config = all_features_config();
  for (DType type : {DType::BF16, DType::F16}) {
    const fs::path dir = temp_dir() / (std::string("hf_") + dtype_name(type));
    write_hf_folder(dir.string(), config, *make_random_weights(config, 11, type));
    const fs::path gguf_path = temp_dir() / (std::string("same_") + dtype_name(type) + ".gguf");
    write_gguf_model(gguf_path.string(), open_checkpoint(dir.string()), type);
    EXPECT_EQ(gguf::GgufFile::open(gguf_path.string())->find_tensor("blk.0.attn_q.weight")->dtype, type);
    const std::vector<float> a = logits_of(dir.string()), b = logits_of(gguf_path.string());
    size_t differing = 0;
    for (size_t i = 0; i < a.size(); ++i) differing += a[i] != b[i];
    std::printf("[gguf] %s GGUF vs %s safetensors: %zu of %zu logits differ (expected 0)\n", dtype_name(type),
                dtype_name(type), differing, a.size());
    EXPECT_EQ(differing, 0u);
  }
}

TEST(GgufModel, StorageTypesFollowTheConverterRule) {
  auto f = gguf::GgufFile::open(converted(DType::Q8_0, "q8_0.gguf"));
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight")->dtype, DType::Q8_0);
  EXPECT_EQ(f->find_tensor("blk.0.attn_norm.weight")->dtype, DType::F32);
  EXPECT_EQ(f->find_tensor("blk.0.ffn_gate_inp.weight")->dtype, DType::F32);  // router stays F32
  EXPECT_EQ(f->find_tensor("blk.0.ffn_gate_inp.scale")->dtype, DType::F32);
  EXPECT_EQ(f->find_tensor("blk.0.layer_output_scale.weight")->dtype, DType::F32);
  EXPECT_EQ(f->find_tensor("blk.0.proj.weight")->dtype, DType::F16);  // rows of 16: not a multiple of 32
  EXPECT_EQ(f->find_tensor("rope_freqs.weight")->dtype, DType::F32);
  EXPECT_EQ(f->get_int("general.file_type"), 7);
}

TEST(GgufModel, RoundTripsToHuggingFaceFolder) {
  const Checkpoint from_gguf = open_checkpoint(converted(DType::F32, "f32.gguf"));
  const fs::path dir = temp_dir() / "hf_again";
  write_hf_folder(dir.string(), from_gguf.config, *from_gguf.weights);
  EXPECT_EQ(logits_of(dir.string()), reference_logits());
}

// ---------------------------------------------------------------------------------------------------------
// Malformed files: each error names the file and, where one is involved, the tensor.

// Byte position of a tensor info's fields, found by its name in the header.
struct InfoPosition {
  size_t ne;      // first dimension
  size_t type;    // u32 type id
  size_t offset;  // u64 offset
};
InfoPosition find_info(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::string needle(8, '\0');
  const uint64_t length = name.size();
  std::memcpy(needle.data(), &length, 8);
  needle += name;
  const auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  if (it == bytes.end()) throw std::runtime_error("tensor info not found: " + name);
  const size_t at = static_cast<size_t>(it - bytes.begin()) + needle.size();
  uint32_t dims;
  std::memcpy(&dims, bytes.data() + at, 4);
  return {at + 4, at + 4 + 8 * dims, at + 4 + 8 * dims + 4};
}

void expect_error(const fs::path& path, const std::vector<std::string>& fragments) {
  try {
    open_checkpoint(path.string());
    ADD_FAILURE() << path << " loaded without error";
  } catch (const Error& e) {
    const std::string message = e.what();
    std::printf("[gguf] %s -> %s\n", path.filename().c_str(), message.c_str());
    EXPECT_NE(message.find(path.string()), std::string::npos) << "error does not name the file: " << message;
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos) << "error lacks '" << fragment << "': " << message;
    }
  }
}

TEST(GgufModel, MalformedFilesGiveClearErrors) {
  const std::vector<uint8_t> good = read_bytes(converted(DType::F32, "f32.gguf"));
  const fs::path dir = temp_dir();
  auto variant = [&](const char* name, auto&& edit) {
    std::vector<uint8_t> bytes = good;
    edit(bytes);
    write_bytes(dir / name, bytes);
    return dir / name;
  };

  // Truncated inside the data section: the last tensor's bytes are cut off.
  expect_error(variant("truncated.gguf", [](auto& b) { b.resize(b.size() - 100); }), {"truncated", "tensor '"});
  // Truncated inside the header.
  expect_error(variant("truncated_header.gguf", [](auto& b) { b.resize(200); }), {"truncated"});
  // Bad magic: load_model's dispatch refuses it; the GGUF reader itself names what it found.
  expect_error(variant("bad_magic.gguf", [](auto& b) { std::memcpy(b.data(), "GGUX", 4); }), {"not a GGUF file"});
  try {
    gguf::GgufFile::open((dir / "bad_magic.gguf").string());
    ADD_FAILURE() << "bad magic accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'GGUX'"), std::string::npos) << message;
    EXPECT_NE(message.find("bad_magic.gguf"), std::string::npos) << message;
  }
  expect_error(variant("out_of_range.gguf",
                       [](auto& b) {
                         const uint64_t far = uint64_t{1} << 32;
                         std::memcpy(b.data() + find_info(b, "blk.3.ffn_down.weight").offset, &far, 8);
                       }),
               {"blk.3.ffn_down.weight", "data section"});
  expect_error(variant("overlap.gguf",
                       [](auto& b) {
                         uint64_t first;
                         std::memcpy(&first, b.data() + find_info(b, "blk.0.attn_q.weight").offset, 8);
                         std::memcpy(b.data() + find_info(b, "blk.0.attn_output.weight").offset, &first, 8);
                       }),
               {"blk.0.attn_q.weight", "blk.0.attn_output.weight", "overlaps"});
  // Missing tensor: its name is changed (same length, so the file stays consistent).
  expect_error(variant("missing.gguf",
                       [](auto& b) {
                         const size_t at = find_info(b, "blk.1.ffn_up.weight").ne - 5;  // the last byte of the name
                         b[at] = 'X';
                       }),
               {"missing tensor 'blk.1.ffn_up.weight'", "layers.1.mlp.up_proj.weight"});
  expect_error(variant("unknown_type.gguf",
                       [](auto& b) {
                         const uint32_t q8_1 = 9;  // a type gemma4.cpp does not read
                         std::memcpy(b.data() + find_info(b, "blk.2.attn_q.weight").type, &q8_1, 4);
                       }),
               {"blk.2.attn_q.weight", "type 9", "Q8_1"});
  // Shape that disagrees with the metadata: half the rows (the bytes still fit).
  expect_error(variant("bad_shape.gguf",
                       [](auto& b) {
                         const size_t ne1 = find_info(b, "blk.0.ffn_gate.weight").ne + 8;
                         uint64_t rows;
                         std::memcpy(&rows, b.data() + ne1, 8);
                         rows /= 2;
                         std::memcpy(b.data() + ne1, &rows, 8);
                       }),
               {"blk.0.ffn_gate.weight", "layers.0.mlp.gate_proj.weight", "shape"});
  // An unsupported version.
  expect_error(variant("version.gguf", [](auto& b) { b[4] = 9; }), {"version 9"});
}

}  // namespace
}  // namespace gemma4

namespace gemma4 {
namespace {

// Format-independent numerics (docs/numerics.md): the same bf16 weights as a bf16 Hugging Face folder (torch_dtype
// bfloat16), as an F32 GGUF of the kind llama.cpp's converter writes (no compute dtype recorded) and as a Q8_0 GGUF
// compute the embedding normalisers the same way. Hidden size 80 makes it visible: sqrt(80) = 8.944 is 8.9375 in
// bf16, a 0.08% change of every embedding.
TEST(GgufModel, SameWeightsGiveTheSameLogitsWhateverTheContainer) {
  Gemma4Config config = all_features_config();
  config.hidden_dim = 80;
  config.dtype = "bfloat16";
  config.validate();
  const fs::path hf = temp_dir() / "hf_bf16_hidden80";
  write_hf_folder(hf.string(), config, *make_random_weights(config, 21, DType::BF16));

  // The GGUFs say nothing about the compute dtype, as files from other converters do.
  Checkpoint source = read_checkpoint(hf.string());
  EXPECT_EQ(source.config.dtype, "bfloat16");
  source.config.dtype.clear();
  const fs::path f32 = temp_dir() / "hidden80_f32.gguf", q8 = temp_dir() / "hidden80_q8_0.gguf";
  write_gguf_model(f32.string(), source, DType::F32);
  write_gguf_model(q8.string(), source, DType::Q8_0);
  ASSERT_EQ(read_checkpoint(f32.string()).config.dtype, "");

  const std::vector<float> from_hf = logits_of(hf.string()), from_f32 = logits_of(f32.string());
  ASSERT_EQ(from_hf.size(), from_f32.size());
  double worst = 0;
  for (size_t i = 0; i < from_hf.size(); ++i) worst = std::max(worst, double(std::abs(from_hf[i] - from_f32[i])));
  std::printf("[gguf] bf16 HF vs F32 GGUF (hidden 80): max |logit difference| %.3g (tolerance 1e-4)\n", worst);
  EXPECT_LE(worst, 1e-4);

  // Q8_0 changes the weights themselves: it stays within the Q8_0 bounds of the test above.
  const LogprobDiff q = compare_logprobs(from_hf, logits_of(q8.string()), config.vocabulary_size);
  std::printf("[gguf] bf16 HF vs Q8_0 GGUF (hidden 80): max |dlogp| %.3g, mean %.3g\n", q.max, q.mean);
  EXPECT_LT(q.mean, 0.3);

  // The rule can be seen at work: declaring float32 compute (exact sqrt(80)) moves the logits.
  Checkpoint exact = read_checkpoint(f32.string());
  exact.config.dtype = "float32";
  const fs::path f32_exact = temp_dir() / "hidden80_f32_exact.gguf";
  write_gguf_model(f32_exact.string(), exact, DType::F32);
  const std::vector<float> from_exact = logits_of(f32_exact.string());
  double moved = 0;
  for (size_t i = 0; i < from_hf.size(); ++i) moved = std::max(moved, double(std::abs(from_hf[i] - from_exact[i])));
  std::printf("[gguf] same file with float32 compute declared: max |logit difference| %.3g\n", moved);
  EXPECT_GT(moved, 1e-4);
}

}  // namespace
}  // namespace gemma4
