#include "train/trainer.h"

#include <gemma4/error.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "train/lora_state.h"

namespace gemma4::train {
namespace {

namespace fs = std::filesystem;

// The data order of an epoch: a shuffle seeded by the run's seed and the epoch.
uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ull + 1;
}

TensorView f32_view(const std::vector<float>& values, std::vector<int64_t> shape) {
  return TensorView{DType::F32, std::move(shape), reinterpret_cast<const uint8_t*>(values.data()), values.size() * 4};
}

std::vector<float> read_f32(const WeightSource& source, const std::string& name, size_t count, const std::string& file) {
  const SourceTensor* tensor = source.find(name);
  if (tensor == nullptr) throw Error(file + ": checkpoint tensor '" + name + "' is missing");
  if (tensor->view.dtype != DType::F32 || static_cast<size_t>(tensor->view.numel()) != count) {
    throw Error(file + ": checkpoint tensor '" + name + "' has " + std::to_string(tensor->view.numel()) +
                " values, this run needs " + std::to_string(count) + " float32 values (another model or rank?)");
  }
  const float* data = reinterpret_cast<const float*>(tensor->view.data);
  return std::vector<float>(data, data + count);
}

}  // namespace

Trainer::Trainer(GradientEngine& engine, LoraTrainingState* lora, std::vector<FullParameter> full,
                 std::vector<TrainingExample> train_examples, std::vector<TrainingExample> eval_examples,
                 TrainerOptions options)
    : engine_(engine), lora_(lora), options_(std::move(options)), train_examples_(std::move(train_examples)),
      optimizer_(options_.adamw) {
  if (options_.steps <= 0) throw Error("training needs a positive number of steps");
  if (options_.batch <= 0 || options_.accumulate <= 0) throw Error("batch and gradient accumulation must be positive");
  if (train_examples_.empty()) throw Error("training needs at least one example");
  if (lora_ == nullptr && full.empty()) throw Error("nothing to train: enable LoRA or name full-weight tensors");
  options_.schedule.total_steps = options_.steps;
  parameters_.full = std::move(full);
  std::vector<size_t> order(eval_examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!eval_examples.empty()) eval_sequences_ = pack_examples(eval_examples, order, options_.sequence_length);
  epoch_sequences_ = pack_examples(train_examples_, shuffled_order(train_examples_.size(), epoch_seed(options_.seed, 0)),
                                   options_.sequence_length);
  if (epoch_sequences_.empty()) throw Error("the training data packs into no sequence (every example is shorter than 2 tokens)");
}

const TrainSequence& Trainer::next_sequence() {
  if (cursor_ >= static_cast<int64_t>(epoch_sequences_.size())) {
    ++epoch_;
    cursor_ = 0;
    epoch_sequences_ = pack_examples(train_examples_, shuffled_order(train_examples_.size(), epoch_seed(options_.seed, epoch_)),
                                     options_.sequence_length);
  }
  return epoch_sequences_[static_cast<size_t>(cursor_++)];
}

void Trainer::refresh_lora_parameters() {
  parameters_.lora = lora_ ? lora_parameters(*lora_) : std::vector<LoraParameter>{};
}

std::vector<ParameterSlot> Trainer::slots() {
  std::vector<ParameterSlot> slots;
  if (lora_) {
    for (size_t i = 0; i < lora_->layers().size(); ++i) {
      slots.push_back({&lora_->layers()[i].a, &grad_a_[i]});
      slots.push_back({&lora_->layers()[i].b, &grad_b_[i]});
    }
  }
  for (size_t j = 0; j < parameters_.full.size(); ++j) slots.push_back({&parameters_.full[j].value, &gradients_.full[j]});
  return slots;
}

StepReport Trainer::step() {
  refresh_lora_parameters();
  gradients_ = ParameterGradients{};
  StepReport report;
  double loss_sum = 0;
  for (int64_t micro = 0; micro < options_.batch * options_.accumulate; ++micro) {
    const TrainSequence& sequence = next_sequence();
    const LossResult result = engine_.accumulate(parameters_, sequence, gradients_);
    loss_sum += result.loss_sum;
    report.target_tokens += result.target_count;
    report.tokens += static_cast<int64_t>(sequence.tokens.size());
  }
  // Sized on first use: parameters the engine never touched have zero gradients.
  gradients_.lora_a.resize(parameters_.lora.size());
  gradients_.lora_b.resize(parameters_.lora.size());
  gradients_.full.resize(parameters_.full.size());
  for (size_t i = 0; i < parameters_.lora.size(); ++i) {
    if (gradients_.lora_a[i].empty()) gradients_.lora_a[i].assign(parameters_.lora[i].a.size(), 0.0f);
    if (gradients_.lora_b[i].empty()) gradients_.lora_b[i].assign(parameters_.lora[i].b.size(), 0.0f);
  }
  for (size_t j = 0; j < parameters_.full.size(); ++j) {
    if (gradients_.full[j].empty()) gradients_.full[j].assign(parameters_.full[j].value.size(), 0.0f);
  }
  grad_a_.resize(parameters_.lora.size());
  grad_b_.resize(parameters_.lora.size());
  for (size_t i = 0; i < parameters_.lora.size(); ++i) {
    lora_layer_gradient(lora_->layers()[i], gradients_.lora_a[i], gradients_.lora_b[i], grad_a_[i], grad_b_[i]);
  }
  // The step's loss is the mean over its target tokens, so its gradient is the summed one over their count.
  const float inverse = report.target_tokens > 0 ? 1.0f / static_cast<float>(report.target_tokens) : 0.0f;
  std::vector<std::vector<float>*> all;
  for (auto& g : grad_a_) all.push_back(&g);
  for (auto& g : grad_b_) all.push_back(&g);
  for (auto& g : gradients_.full) all.push_back(&g);
  for (std::vector<float>* g : all) {
    for (float& x : *g) x *= inverse;
  }
  report.grad_norm = clip_by_global_norm(all, options_.max_grad_norm);
  report.step = optimizer_.step_count() + 1;
  report.learning_rate = options_.schedule.at(report.step);
  optimizer_.step(slots(), static_cast<float>(report.learning_rate));
  report.loss = report.target_tokens > 0 ? loss_sum / static_cast<double>(report.target_tokens) : 0.0;
  tokens_seen_ += report.tokens;
  return report;
}

RunSummary Trainer::run(const std::string& checkpoint_folder, int64_t checkpoint_every,
                        const std::function<void(const RunProgress&)>& on_step, const std::atomic<bool>* stop) {
  RunSummary summary;
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = step_count();
  int64_t tokens = 0;
  while (step_count() < options_.steps) {
    if (stop != nullptr && stop->load()) {
      summary.interrupted = true;
      break;
    }
    RunProgress progress;
    progress.report = step();
    const StepReport& report = progress.report;
    tokens += report.tokens;
    summary.last_loss = report.loss;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t done = report.step - first_step;
    progress.tokens_per_second = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
    progress.eta_seconds = seconds / static_cast<double>(done) * static_cast<double>(options_.steps - report.step);
    const bool last = report.step == options_.steps;
    if ((options_.eval_every > 0 && report.step % options_.eval_every == 0) || (last && has_eval_data())) {
      progress.eval_loss = evaluate();
      summary.eval_loss = progress.eval_loss;
    }
    if (checkpoint_every > 0 && report.step % checkpoint_every == 0 && !last) save_checkpoint(checkpoint_folder);
    if (on_step) on_step(progress);
  }
  summary.steps_done = step_count();
  save_checkpoint(checkpoint_folder);
  return summary;
}

double Trainer::evaluate() {
  refresh_lora_parameters();
  const std::vector<TrainSequence>* data = &eval_sequences_;
  std::vector<TrainSequence> first_epoch;
  if (data->empty()) {
    first_epoch = pack_examples(train_examples_, shuffled_order(train_examples_.size(), epoch_seed(options_.seed, 0)),
                                options_.sequence_length);
    data = &first_epoch;
  }
  double loss = 0;
  int64_t count = 0;
  for (const TrainSequence& sequence : *data) {
    const LossResult result = engine_.evaluate(parameters_, sequence);
    loss += result.loss_sum;
    count += result.target_count;
  }
  return count > 0 ? loss / static_cast<double>(count) : 0.0;
}

void Trainer::save_checkpoint(const std::string& folder) const {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot create the checkpoint folder '" + folder + "': " + ec.message());
  std::vector<NamedTensor> tensors;
  nlohmann::ordered_json state;
  state["format"] = "gemma4.cpp finetune checkpoint 1";
  state["step"] = optimizer_.step_count();
  state["epoch"] = epoch_;
  state["cursor"] = cursor_;
  state["seed"] = options_.seed;
  state["tokens_seen"] = tokens_seen_;
  nlohmann::json layers = nlohmann::json::array();
  if (lora_) {
    state["lora"] = {{"rank", lora_->rank()}, {"alpha", lora_->alpha()}};
    for (size_t i = 0; i < lora_->layers().size(); ++i) {
      const LoraLayer& layer = lora_->layers()[i];
      layers.push_back(layer.tensor);
      tensors.push_back({"lora." + std::to_string(i) + ".a", f32_view(layer.a, layer.a_shape())});
      tensors.push_back({"lora." + std::to_string(i) + ".b", f32_view(layer.b, layer.b_shape())});
    }
  }
  state["lora_layers"] = layers;
  nlohmann::json full = nlohmann::json::array();
  for (size_t j = 0; j < parameters_.full.size(); ++j) {
    full.push_back(parameters_.full[j].tensor);
    tensors.push_back({"full." + std::to_string(j), f32_view(parameters_.full[j].value, parameters_.full[j].shape)});
  }
  state["full_tensors"] = full;
  const auto& m = optimizer_.first_moments();
  const auto& v = optimizer_.second_moments();
  for (size_t s = 0; s < m.size(); ++s) {
    tensors.push_back({"adamw.m." + std::to_string(s), f32_view(m[s], {static_cast<int64_t>(m[s].size())})});
    tensors.push_back({"adamw.v." + std::to_string(s), f32_view(v[s], {static_cast<int64_t>(v[s].size())})});
  }
  state["moment_slots"] = m.size();
  // The step again inside the tensors, so that a state file from another save is detected.
  const std::vector<float> step_value = {static_cast<float>(optimizer_.step_count())};
  tensors.push_back({"step", f32_view(step_value, {1})});
  write_safetensors((fs::path(folder) / "state.safetensors").string(), tensors);
  write_file_atomic((fs::path(folder) / "trainer_state.json").string(), state.dump(2) + "\n");
}

void Trainer::load_checkpoint(const std::string& folder) {
  const std::string json_path = (fs::path(folder) / "trainer_state.json").string();
  const std::string tensors_path = (fs::path(folder) / "state.safetensors").string();
  if (!fs::exists(json_path)) throw Error(folder + ": not a finetune checkpoint (no trainer_state.json)");
  const nlohmann::json state = read_json_file(json_path);
  WeightSource source;
  read_safetensors_file(tensors_path, source, "", /*canonicalize=*/false);
  const int64_t step = state.at("step").get<int64_t>();
  const float recorded = read_f32(source, "step", 1, tensors_path)[0];
  if (recorded != static_cast<float>(step)) {
    throw Error(folder + ": trainer_state.json is at step " + std::to_string(step) + " but state.safetensors at step " +
                std::to_string(static_cast<int64_t>(recorded)) + " (an interrupted save?)");
  }
  const nlohmann::json layers = state.value("lora_layers", nlohmann::json::array());
  const size_t lora_count = lora_ ? lora_->layers().size() : 0;
  if (layers.size() != lora_count) {
    throw Error(folder + ": the checkpoint has " + std::to_string(layers.size()) + " LoRA layers, this run " +
                std::to_string(lora_count) + " (same --rank/--targets needed to resume)");
  }
  for (size_t i = 0; i < lora_count; ++i) {
    LoraLayer& layer = lora_->layers()[i];
    if (layers[i].get<std::string>() != layer.tensor) {
      throw Error(folder + ": checkpoint LoRA layer " + std::to_string(i) + " is " + layers[i].get<std::string>() +
                  ", this run has " + layer.tensor);
    }
    layer.a = read_f32(source, "lora." + std::to_string(i) + ".a", layer.a.size(), tensors_path);
    layer.b = read_f32(source, "lora." + std::to_string(i) + ".b", layer.b.size(), tensors_path);
  }
  const nlohmann::json full = state.value("full_tensors", nlohmann::json::array());
  if (full.size() != parameters_.full.size()) {
    throw Error(folder + ": the checkpoint trains " + std::to_string(full.size()) + " full tensors, this run " +
                std::to_string(parameters_.full.size()));
  }
  for (size_t j = 0; j < parameters_.full.size(); ++j) {
    if (full[j].get<std::string>() != parameters_.full[j].tensor) {
      throw Error(folder + ": checkpoint full tensor " + std::to_string(j) + " is " + full[j].get<std::string>());
    }
    parameters_.full[j].value = read_f32(source, "full." + std::to_string(j), parameters_.full[j].value.size(), tensors_path);
  }
  const size_t moment_slots = state.value("moment_slots", size_t{0});
  std::vector<std::vector<float>> m, v;
  std::vector<size_t> sizes;
  if (lora_) {
    for (const LoraLayer& layer : lora_->layers()) {
      sizes.push_back(layer.a.size());
      sizes.push_back(layer.b.size());
    }
  }
  for (const FullParameter& p : parameters_.full) sizes.push_back(p.value.size());
  if (moment_slots != 0 && moment_slots != sizes.size()) throw Error(folder + ": optimizer moments do not match this run");
  for (size_t s = 0; s < moment_slots; ++s) {
    m.push_back(read_f32(source, "adamw.m." + std::to_string(s), sizes[s], tensors_path));
    v.push_back(read_f32(source, "adamw.v." + std::to_string(s), sizes[s], tensors_path));
  }
  optimizer_.restore(step, std::move(m), std::move(v));
  options_.seed = state.at("seed").get<uint64_t>();
  tokens_seen_ = state.value("tokens_seen", int64_t{0});
  epoch_ = state.at("epoch").get<int64_t>();
  cursor_ = state.at("cursor").get<int64_t>();
  epoch_sequences_ = pack_examples(train_examples_, shuffled_order(train_examples_.size(), epoch_seed(options_.seed, epoch_)),
                                   options_.sequence_length);
}

}  // namespace gemma4::train
