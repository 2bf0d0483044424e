#include "train/decoder_layer.h"

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "train/op_grads.h"

namespace gemma4::train {
namespace {

using kernels::rms_norm;

float* sized(std::vector<float>& buffer, int64_t count) {
  buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

std::vector<float> zeros(int64_t count) { return std::vector<float>(static_cast<size_t>(count), 0.0f); }

// The (choice index) lists of each expert, choices in token order (the forward's counting sort).
std::vector<std::vector<int64_t>> choices_by_expert(const std::vector<ExpertChoice>& choices, int64_t experts) {
  std::vector<std::vector<int64_t>> lists(static_cast<size_t>(experts));
  for (size_t c = 0; c < choices.size(); ++c) lists[static_cast<size_t>(choices[c].expert)].push_back(static_cast<int64_t>(c));
  return lists;
}

}  // namespace

DecoderPass::DecoderPass(const TextModel& model, const TrainWeights& weights, int64_t length)
    : config_(model.config()), weights_(weights), length_(length),
      eps_(static_cast<float>(model.config().layer_norm_epsilon)) {}

AttentionGeometry DecoderPass::geometry(int64_t layer) const {
  AttentionGeometry g;
  g.length = length_;
  g.q_heads = config_.num_query_heads;
  g.kv_heads = config_.layer_kv_heads(config_.kv_donor(layer));
  g.head_dim = config_.layer_head_dim(layer);
  g.rule.bidirectional = config_.use_bidirectional_attention;
  g.rule.windowed = config_.is_windowed(layer);
  g.rule.window = config_.sliding_window_size;
  g.soft_cap = config_.attention_logit_soft_cap.value_or(0.0);
  return g;
}

void DecoderPass::forward(int64_t layer, const float* ple, LayerTape& tape, std::vector<LayerKv>& kv,
                          float* output) const {
  const TrainLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t T = length_, H = config_.hidden_dim;
  const int64_t D = config_.layer_head_dim(layer), q_heads = config_.num_query_heads;
  const int64_t kv_heads = config_.layer_kv_heads(layer);
  const int64_t pairs = config_.rope_pairs(layer);
  const double wavelength = config_.rope_wavelength(layer), rope_scaling = config_.rope_scaling_factor(layer);
  const float* input = tape.input.data();

  float* normed = sized(tape.normed, T * H);
  rms_norm(input, w.input_norm.value, T, H, eps_, normed);

  // Queries: project, RMS-normalise each head, rotate.
  float* q_raw = sized(tape.q_raw, T * q_heads * D);
  matrix_forward(w.q_proj, normed, T, q_raw);
  tape.q = tape.q_raw;
  float* q = tape.q.data();
  rms_norm(q, w.q_norm.value, T * q_heads, D, eps_, q);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < q_heads; ++h) {
      kernels::rope_inplace(q + (t * q_heads + h) * D, D, pairs, static_cast<double>(t), wavelength, rope_scaling);
    }
  }

  if (!config_.is_kv_shared(layer)) {
    const int64_t kv_width = kv_heads * D;
    float* k_raw = sized(tape.k_raw, T * kv_width);
    matrix_forward(w.k_proj, normed, T, k_raw);
    if (w.v_proj.empty()) {
      tape.v_raw = tape.k_raw;  // K=V: values are the raw key projection
    } else {
      matrix_forward(w.v_proj, normed, T, sized(tape.v_raw, T * kv_width));
    }
    LayerKv& own = kv[static_cast<size_t>(layer)];
    own.k = tape.k_raw;
    own.v = tape.v_raw;
    rms_norm(own.k.data(), w.k_norm.value, T * kv_heads, D, eps_, own.k.data());
    rms_norm(own.v.data(), nullptr, T * kv_heads, D, eps_, own.v.data());
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < kv_heads; ++h) {
        kernels::rope_inplace(own.k.data() + (t * kv_heads + h) * D, D, pairs, static_cast<double>(t), wavelength,
                              rope_scaling);
      }
    }
  }
  const LayerKv& source = kv[static_cast<size_t>(config_.kv_donor(layer))];
  float* context = sized(tape.context, T * q_heads * D);
  attention_forward(q, source.k.data(), source.v.data(), geometry(layer), context, tape.stats);
  float* attn_out = sized(tape.attn_out, T * H);
  matrix_forward(w.o_proj, context, T, attn_out);
  float* h1 = sized(tape.h1, T * H);
  rms_norm(attn_out, w.post_attention_norm.value, T, H, eps_, h1);
  for (int64_t i = 0; i < T * H; ++i) h1[i] += input[i];

  // Feed-forward (+ experts).
  const int64_t F = w.gate_proj.out();
  float* mlp_normed = sized(tape.mlp_normed, T * H);
  rms_norm(h1, w.pre_ffn_norm.value, T, H, eps_, mlp_normed);
  matrix_forward(w.gate_proj, mlp_normed, T, sized(tape.gate, T * F));
  matrix_forward(w.up_proj, mlp_normed, T, sized(tape.up, T * F));
  tape.act = tape.gate;
  kernels::gelu_tanh_mul(tape.act.data(), tape.up.data(), T * F);
  matrix_forward(w.down_proj, tape.act.data(), T, sized(tape.dense, T * H));
  tape.ffn_sum = tape.dense;
  float* ffn_sum = tape.ffn_sum.data();
  if (config_.enable_moe_block) {
    rms_norm(ffn_sum, w.post_ffn_norm_1.value, T, H, eps_, ffn_sum);
    moe_forward(layer, tape);
    std::vector<float> experts = zeros(T * H);
    rms_norm(tape.moe_out.data(), w.post_ffn_norm_2.value, T, H, eps_, experts.data());
    for (int64_t i = 0; i < T * H; ++i) ffn_sum[i] += experts[i];
  }
  float* h2 = sized(tape.h2, T * H);
  rms_norm(ffn_sum, w.post_ffn_norm.value, T, H, eps_, h2);
  for (int64_t i = 0; i < T * H; ++i) h2[i] += h1[i];

  // Per-layer input: gelu(h2 gate) * this layer's slice, projected, normed, added.
  tape.h3 = tape.h2;
  float* h3 = tape.h3.data();
  if (ple != nullptr) {
    const int64_t P = config_.hidden_size_per_layer_input, row = config_.num_layers * P;
    float* gate = sized(tape.ple_gate, T * P);
    matrix_forward(w.ple_gate, h2, T, gate);
    tape.ple_act = tape.ple_gate;
    for (int64_t t = 0; t < T; ++t) kernels::gelu_tanh_mul(tape.ple_act.data() + t * P, ple + t * row + layer * P, P);
    float* projected = sized(tape.ple_proj, T * H);
    matrix_forward(w.ple_projection, tape.ple_act.data(), T, projected);
    std::vector<float> normed_projection = zeros(T * H);
    rms_norm(projected, w.ple_post_norm.value, T, H, eps_, normed_projection.data());
    for (int64_t i = 0; i < T * H; ++i) h3[i] += normed_projection[i];
  }
  const float scalar = w.layer_scalar.value[0];
  for (int64_t i = 0; i < T * H; ++i) output[i] = h3[i] * scalar;
}

void DecoderPass::moe_forward(int64_t layer, LayerTape& tape) const {
  const TrainLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t T = length_, H = config_.hidden_dim;
  const int64_t experts = *config_.num_experts, top_k = config_.num_experts_per_token;
  const int64_t I = *config_.expert_intermediate_dim;
  const float* h1 = tape.h1.data();

  float* unit = sized(tape.router_unit, T * H);
  rms_norm(h1, nullptr, T, H, eps_, unit);
  float* routed = sized(tape.routed, T * H);
  const float root_scale = 1.0f / std::sqrt(static_cast<float>(H));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < H; ++i) routed[t * H + i] = unit[t * H + i] * (root_scale * w.router_scale.value[i]);
  }
  float* probabilities = sized(tape.probabilities, T * experts);
  matrix_forward(w.router_proj, routed, T, probabilities);
  tape.choices.assign(static_cast<size_t>(T * top_k), ExpertChoice{0, 0.0f});
  std::vector<int64_t> order(static_cast<size_t>(experts));
  for (int64_t t = 0; t < T; ++t) {
    route_token(probabilities + t * experts, experts, top_k, w.router_per_expert_scale.value, order.data(),
                tape.choices.data() + t * top_k);
  }

  float* x2 = sized(tape.expert_input, T * H);
  rms_norm(h1, w.pre_ffn_norm_2.value, T, H, eps_, x2);
  float* gate_up = sized(tape.expert_gate_up, T * top_k * 2 * I);
  float* act = sized(tape.expert_act, T * top_k * I);
  float* result = sized(tape.expert_out, T * top_k * H);
  float* out = sized(tape.moe_out, T * H);
  std::fill_n(out, T * H, 0.0f);
  const auto lists = choices_by_expert(tape.choices, experts);
  std::vector<float> rows, products;
  for (int64_t e = 0; e < experts; ++e) {
    const auto& list = lists[static_cast<size_t>(e)];
    const int64_t count = static_cast<int64_t>(list.size());
    if (count == 0) continue;
    rows.resize(static_cast<size_t>(count * H));
    for (int64_t i = 0; i < count; ++i) std::copy_n(x2 + (list[i] / top_k) * H, H, rows.data() + i * H);
    products.resize(static_cast<size_t>(count * 2 * I));
    matrix_forward(w.experts_gate_up.slice(e), rows.data(), count, products.data());
    rows.resize(static_cast<size_t>(count * I));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t c = list[i];
      std::copy_n(products.data() + i * 2 * I, 2 * I, gate_up + c * 2 * I);
      float* a = act + c * I;
      std::copy_n(gate_up + c * 2 * I, I, a);  // first half: gate, second: up
      kernels::gelu_tanh_mul(a, gate_up + c * 2 * I + I, I);
      std::copy_n(a, I, rows.data() + i * I);
    }
    products.resize(static_cast<size_t>(count * H));
    matrix_forward(w.experts_down.slice(e), rows.data(), count, products.data());
    for (int64_t i = 0; i < count; ++i) {
      const int64_t c = list[i];
      std::copy_n(products.data() + i * H, H, result + c * H);
      const float weight = tape.choices[static_cast<size_t>(c)].weight;
      float* target = out + (c / top_k) * H;
      for (int64_t j = 0; j < H; ++j) target[j] += weight * result[c * H + j];
    }
  }
}

void DecoderPass::backward(int64_t layer, const float* ple, const LayerTape& tape, std::vector<LayerKv>& kv,
                           const float* doutput, float* dinput, float* dple) const {
  const TrainLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t T = length_, H = config_.hidden_dim;
  const int64_t D = config_.layer_head_dim(layer), q_heads = config_.num_query_heads;
  const int64_t kv_heads = config_.layer_kv_heads(layer);
  const int64_t pairs = config_.rope_pairs(layer);
  const double wavelength = config_.rope_wavelength(layer), rope_scaling = config_.rope_scaling_factor(layer);

  // output = h3 * layer_scalar.
  std::vector<float> dh(static_cast<size_t>(T * H));
  const float scalar = w.layer_scalar.value[0];
  for (int64_t i = 0; i < T * H; ++i) dh[i] = doutput[i] * scalar;
  if (w.layer_scalar.grad) {
    double sum = 0.0;
    for (int64_t i = 0; i < T * H; ++i) sum += static_cast<double>(tape.h3[i]) * doutput[i];
    w.layer_scalar.grad[0] += static_cast<float>(sum);
  }

  // h3 = h2 + norm(projection(gelu(gate(h2)) * ple_slice)).
  if (ple != nullptr) {
    const int64_t P = config_.hidden_size_per_layer_input, row = config_.num_layers * P;
    std::vector<float> dprojected = zeros(T * H), dact = zeros(T * P), dgate = zeros(T * P);
    rms_norm_backward(tape.ple_proj.data(), w.ple_post_norm.value, dh.data(), T, H, eps_, dprojected.data(),
                      w.ple_post_norm.grad);
    matrix_backward(w.ple_projection, tape.ple_act.data(), dprojected.data(), T, dact.data());
    for (int64_t t = 0; t < T; ++t) {
      gelu_tanh_mul_backward(tape.ple_gate.data() + t * P, ple + t * row + layer * P, dact.data() + t * P, P,
                             dgate.data() + t * P, dple ? dple + t * row + layer * P : nullptr);
    }
    matrix_backward(w.ple_gate, tape.h2.data(), dgate.data(), T, dh.data());
  }

  // h2 = h1 + post_ffn_norm(ffn_sum); ffn_sum = dense, or norm_1(dense) + norm_2(experts).
  std::vector<float> dsum = zeros(T * H), ddense;
  rms_norm_backward(tape.ffn_sum.data(), w.post_ffn_norm.value, dh.data(), T, H, eps_, dsum.data(), w.post_ffn_norm.grad);
  if (config_.enable_moe_block) {
    ddense = zeros(T * H);
    rms_norm_backward(tape.dense.data(), w.post_ffn_norm_1.value, dsum.data(), T, H, eps_, ddense.data(),
                      w.post_ffn_norm_1.grad);
    std::vector<float> dmoe = zeros(T * H);
    rms_norm_backward(tape.moe_out.data(), w.post_ffn_norm_2.value, dsum.data(), T, H, eps_, dmoe.data(),
                      w.post_ffn_norm_2.grad);
    moe_backward(layer, tape, dmoe.data(), dh.data());
  } else {
    ddense = std::move(dsum);
  }
  const int64_t F = w.gate_proj.out();
  std::vector<float> dact = zeros(T * F), dgate = zeros(T * F), dup = zeros(T * F), dmlp = zeros(T * H);
  matrix_backward(w.down_proj, tape.act.data(), ddense.data(), T, dact.data());
  gelu_tanh_mul_backward(tape.gate.data(), tape.up.data(), dact.data(), T * F, dgate.data(), dup.data());
  matrix_backward(w.gate_proj, tape.mlp_normed.data(), dgate.data(), T, dmlp.data());
  matrix_backward(w.up_proj, tape.mlp_normed.data(), dup.data(), T, dmlp.data());
  rms_norm_backward(tape.h1.data(), w.pre_ffn_norm.value, dmlp.data(), T, H, eps_, dh.data(), w.pre_ffn_norm.grad);

  // h1 = input + post_attention_norm(o_proj(attention(q, k, v))).
  std::vector<float> dattn = zeros(T * H), dcontext = zeros(T * q_heads * D), dq = zeros(T * q_heads * D);
  rms_norm_backward(tape.attn_out.data(), w.post_attention_norm.value, dh.data(), T, H, eps_, dattn.data(),
                    w.post_attention_norm.grad);
  matrix_backward(w.o_proj, tape.context.data(), dattn.data(), T, dcontext.data());
  LayerKv& source = kv[static_cast<size_t>(config_.kv_donor(layer))];
  attention_backward(tape.q.data(), source.k.data(), source.v.data(), dcontext.data(), tape.stats, geometry(layer),
                     dq.data(), source.dk.data(), source.dv.data());
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < q_heads; ++h) {
      rope_backward_inplace(dq.data() + (t * q_heads + h) * D, D, pairs, static_cast<double>(t), wavelength, rope_scaling);
    }
  }
  std::vector<float> dq_raw = zeros(T * q_heads * D), dnormed = zeros(T * H);
  rms_norm_backward(tape.q_raw.data(), w.q_norm.value, dq.data(), T * q_heads, D, eps_, dq_raw.data(), w.q_norm.grad);
  matrix_backward(w.q_proj, tape.normed.data(), dq_raw.data(), T, dnormed.data());

  if (!config_.is_kv_shared(layer)) {
    // Every reader of these keys and values has added its share by now.
    LayerKv& own = kv[static_cast<size_t>(layer)];
    const int64_t kv_width = kv_heads * D;
    std::vector<float> dk = own.dk, dk_raw = zeros(T * kv_width), dv_raw = zeros(T * kv_width);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < kv_heads; ++h) {
        rope_backward_inplace(dk.data() + (t * kv_heads + h) * D, D, pairs, static_cast<double>(t), wavelength,
                              rope_scaling);
      }
    }
    rms_norm_backward(tape.k_raw.data(), w.k_norm.value, dk.data(), T * kv_heads, D, eps_, dk_raw.data(), w.k_norm.grad);
    rms_norm_backward(tape.v_raw.data(), nullptr, own.dv.data(), T * kv_heads, D, eps_, dv_raw.data(), nullptr);
    if (w.v_proj.empty()) {
      for (int64_t i = 0; i < T * kv_width; ++i) dk_raw[i] += dv_raw[i];
    } else {
      matrix_backward(w.v_proj, tape.normed.data(), dv_raw.data(), T, dnormed.data());
    }
    matrix_backward(w.k_proj, tape.normed.data(), dk_raw.data(), T, dnormed.data());
  }

  std::copy(dh.begin(), dh.end(), dinput);
  rms_norm_backward(tape.input.data(), w.input_norm.value, dnormed.data(), T, H, eps_, dinput, w.input_norm.grad);
}

void DecoderPass::moe_backward(int64_t layer, const LayerTape& tape, const float* dmoe, float* dh1) const {
  const TrainLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t T = length_, H = config_.hidden_dim;
  const int64_t experts = *config_.num_experts, top_k = config_.num_experts_per_token;
  const int64_t I = *config_.expert_intermediate_dim;
  const float* h1 = tape.h1.data();

  // moe_out[t] = sum_k weight_k result_k.
  std::vector<float> dweight = zeros(T * top_k), dx2 = zeros(T * H);
  for (int64_t c = 0; c < T * top_k; ++c) {
    dweight[c] = kernels::dot(dmoe + (c / top_k) * H, tape.expert_out.data() + c * H, H);
  }
  const auto lists = choices_by_expert(tape.choices, experts);
  std::vector<float> dresult, acts, dacts, dgate_up, inputs, dinputs;
  for (int64_t e = 0; e < experts; ++e) {
    const auto& list = lists[static_cast<size_t>(e)];
    const int64_t count = static_cast<int64_t>(list.size());
    if (count == 0) continue;
    dresult.assign(static_cast<size_t>(count * H), 0.0f);
    acts.resize(static_cast<size_t>(count * I));
    inputs.resize(static_cast<size_t>(count * H));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t c = list[i], t = c / top_k;
      const float weight = tape.choices[static_cast<size_t>(c)].weight;
      for (int64_t j = 0; j < H; ++j) dresult[i * H + j] = weight * dmoe[t * H + j];
      std::copy_n(tape.expert_act.data() + c * I, I, acts.data() + i * I);
      std::copy_n(tape.expert_input.data() + t * H, H, inputs.data() + i * H);
    }
    dacts.assign(static_cast<size_t>(count * I), 0.0f);
    matrix_backward(w.experts_down.slice(e), acts.data(), dresult.data(), count, dacts.data());
    dgate_up.assign(static_cast<size_t>(count * 2 * I), 0.0f);
    for (int64_t i = 0; i < count; ++i) {
      const float* gate_up = tape.expert_gate_up.data() + list[i] * 2 * I;
      gelu_tanh_mul_backward(gate_up, gate_up + I, dacts.data() + i * I, I, dgate_up.data() + i * 2 * I,
                             dgate_up.data() + i * 2 * I + I);
    }
    dinputs.assign(static_cast<size_t>(count * H), 0.0f);
    matrix_backward(w.experts_gate_up.slice(e), inputs.data(), dgate_up.data(), count, dinputs.data());
    for (int64_t i = 0; i < count; ++i) {
      kernels::axpy(1.0f, dinputs.data() + i * H, dx2.data() + (list[i] / top_k) * H, H);
    }
  }
  rms_norm_backward(h1, w.pre_ffn_norm_2.value, dx2.data(), T, H, eps_, dh1, w.pre_ffn_norm_2.grad);

  // Router: the renormalised top-k weights, then the projection, the scale and the scale-free norm.
  std::vector<float> dlogits = zeros(T * experts), drouted = zeros(T * H), dunit = zeros(T * H);
  for (int64_t t = 0; t < T; ++t) {
    route_token_backward(tape.probabilities.data() + t * experts, experts, tape.choices.data() + t * top_k, top_k,
                         w.router_per_expert_scale.value, dweight.data() + t * top_k, dlogits.data() + t * experts,
                         w.router_per_expert_scale.grad);
  }
  matrix_backward(w.router_proj, tape.routed.data(), dlogits.data(), T, drouted.data());
  const float root_scale = 1.0f / std::sqrt(static_cast<float>(H));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < H; ++i) {
      const float g = drouted[t * H + i];
      dunit[t * H + i] = g * (root_scale * w.router_scale.value[i]);
      if (w.router_scale.grad) w.router_scale.grad[i] += g * root_scale * tape.router_unit[t * H + i];
    }
  }
  rms_norm_backward(h1, nullptr, dunit.data(), T, H, eps_, dh1, nullptr);
}

}  // namespace gemma4::train
