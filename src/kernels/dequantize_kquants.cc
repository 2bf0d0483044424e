// ggml k-quant decoders (Q4_K, Q6_K): super-blocks of 256 values, layouts as in ggml-common.h.
#include <gemma4/error.h>

#include <cstring>

#include "core/dtype.h"

namespace gemma4::kernels {
namespace {

inline float load_f16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return f16_to_f32(bits);
}

// Q4_K packs 8 (scale, min) pairs of 6 bits into 12 bytes: pairs 0-3 in the low 6 bits of bytes 0-3 / 4-7,
// pairs 4-7 in the nibbles of bytes 8-11 with their top 2 bits in the high bits of bytes 0-3 / 4-7.
inline void q4_k_scale_min(int j, const uint8_t* s, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace

// Block (144 bytes): f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of 4-bit quants.
// Each 64 values: 32 low nibbles (sub-block 2k) then 32 high nibbles (sub-block 2k+1) of the same 32 bytes;
// value = d * scale * q - dmin * min.
void dequantize_q4_k(const uint8_t* data, int64_t count, float* out) {
  if (count % 256 != 0) throw Error("Q4_K data must hold a whole number of 256-value blocks");
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 144;
    const float d = load_f16(b);
    const float dmin = load_f16(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* q = b + 16;
    float* y = out + block * 256;
    for (int chunk = 0; chunk < 4; ++chunk) {
      int sc = 0, m = 0;
      q4_k_scale_min(2 * chunk, scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      q4_k_scale_min(2 * chunk + 1, scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
      y += 64;
      q += 32;
    }
  }
}

// Block (210 bytes): 128 bytes low 4 bits (ql), 64 bytes high 2 bits (qh), 16 int8 scales, f16 d.
// Each half (128 values) uses 64 ql bytes, 32 qh bytes and 8 scales; value = d * scale[16-group] * (q - 32).
void dequantize_q6_k(const uint8_t* data, int64_t count, float* out) {
  if (count % 256 != 0) throw Error("Q6_K data must hold a whole number of 256-value blocks");
  for (int64_t block = 0; block < count / 256; ++block) {
    const uint8_t* b = data + block * 210;
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = load_f16(b + 208);
    float* y = out + block * 256;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int group = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[group]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[group + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[group + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[group + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace gemma4::kernels
