// Parameter counts of the vision and audio encoders and the assistant head, as KerasHub's
// count_params() counts them (every variable, clip scalars included). Derived from the weight lists
// in keras-hub gemma4_vision_encoder.py / gemma4_audio_encoder.py and transformers modeling_gemma4.py; checked against hand-worked totals
// (E2B 5,104,298,467 ... 31B 31,273,088,876) and KerasHub's test count 24006 in tests/unit/preset_test.cc.
#include <gemma4/preset.h>

#include <cstddef>

namespace gemma4 {

int64_t count_vision_parameters(const VisionConfig& v) {
  const int64_t d = v.hidden_dim;
  int64_t total = 3 * v.patch_size * v.patch_size * d;  // patch_embedder.input_proj
  total += 2 * v.position_table_size * d;               // (x, y) position_embedding_table
  int64_t block = 4 * d;                                  // pre/post attention and ffw norms
  block += v.num_heads * d * v.head_dim * 2;              // query, output
  block += v.num_key_value_heads * d * v.head_dim * 2;    // key, value
  block += 2 * v.head_dim;                                // query_norm, key_norm (value norm has no weight)
  block += 3 * d * v.intermediate_dim;                    // gating, gating_2, linear
  if (v.use_clipped_linears) block += 7 * 4;              // input/output min/max of the 7 linears
  total += v.num_layers * block;
  if (v.standardize) total += 2 * d;                      // std_bias, std_scale
  total += d * v.output_dim;                              // vision_input_projection
  return total;
}

int64_t count_audio_parameters(const AudioConfig& a) {
  const int64_t h = a.hidden_size;
  const int64_t clip = a.use_clipped_linears ? 4 : 0;
  // Sub-sampling convolutions: kernel (k, k, in, out) and a LayerNorm gamma each; then input_proj.
  int64_t total = 0;
  int64_t channels_in = 1;
  int64_t frequencies = a.input_feat_size;
  for (size_t i = 0; i < a.sscp_conv_channels.size(); ++i) {
    const int64_t channels = a.sscp_conv_channels[i];
    const auto& kernel = a.sscp_kernel_sizes.at(i);  // (time, frequency)
    const int64_t frequency_stride = a.sscp_stride_sizes.at(i).at(1);
    total += kernel.at(0) * kernel.at(1) * channels_in * channels + channels;
    channels_in = channels;
    frequencies = (frequencies + frequency_stride - 1) / frequency_stride;
  }
  total += frequencies * channels_in * h;  // input_proj: (freq * channels) -> hidden
  // Conformer block.
  const int64_t ffw = 2 * (2 * h * 4 * h + 2 * clip) + 2 * (2 * h);  // ffw_start + ffw_end with pre/post norms
  const int64_t head_dim = h / a.num_heads;  // per_dim_scale has one entry per head dimension
  const int64_t attention = 4 * (h * h + clip) + head_dim + h * h + 2 * h;  // q,k,v,out; per_dim_scale; pos_proj; norms
  const int64_t lconv = (h * 2 * h + clip) + (h * h + clip) + a.conv_kernel_size * h + 2 * h;
  const int64_t block = ffw + attention + lconv + h;  // + the block's output norm
  total += a.num_layers * block;
  int64_t width = h;
  if (a.output_proj_dims > 0) {
    total += h * a.output_proj_dims + a.output_proj_dims;  // output_proj has a bias
    width = a.output_proj_dims;
  }
  total += width * a.output_dim;  // audio_output_projection
  return total;
}

int64_t count_assistant_head_parameters(const AssistantHeadConfig& head, int64_t hidden_dim) {
  int64_t total = 2 * head.backbone_hidden_size * hidden_dim;  // pre_projection
  total += hidden_dim * head.backbone_hidden_size;             // post_projection
  if (head.use_ordered_embeddings) total += hidden_dim * head.num_centroids;  // centroids
  return total;
}

}  // namespace gemma4
