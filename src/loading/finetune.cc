// gemma4::finetune (an entry point, so in loading): loads the model and data, runs the Trainer (src/train) with the
// backward pass, writes the results.
#include <gemma4/causal_lm.h>
#include <gemma4/convert.h>
#include <gemma4/error.h>
#include <gemma4/finetune.h>
#include <gemma4/lora_training.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "formats/safetensors.h"
#include "kernels/matmul.h"
#include "model/backbone_parts.h"
#include "model/weights.h"
#include "schema/tensor_names.h"
#include "train/trainer.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using train::FullParameter;

// The backward pass (train/gradients.h) as the trainer's engine.
class BackwardEngine : public train::GradientEngine {
 public:
  BackwardEngine(const TextModel& model, train::BackwardOptions options) : model_(model), options_(options) {}
  train::LossResult accumulate(const train::TrainableParameters& parameters, const train::TrainSequence& sequence,
                               train::ParameterGradients& gradients) override {
    return train::accumulate_gradients(model_, parameters, sequence, gradients, options_);
  }
  train::LossResult evaluate(const train::TrainableParameters& parameters, const train::TrainSequence& sequence) override {
    return train::evaluate_loss(model_, parameters, sequence);
  }

 private:
  const TextModel& model_;
  train::BackwardOptions options_;
};

// Float32 copies of the text tensors to train: `names`, or every tensor of the model (layer_scalar excepted).
std::vector<FullParameter> full_parameters(const TextModel& model, const std::vector<std::string>& names) {
  ModelWeights weights = model.weights();
  const Gemma4Config& config = model.config();
  std::vector<FullParameter> parameters;
  std::vector<std::string> wanted = names;
  for (const TensorSpec& spec : text_tensor_specs()) {
    for (int64_t layer = 0; layer < (spec.per_layer ? config.num_layers : 1); ++layer) {
      if (!spec.present(config, layer)) continue;
      const std::string name = expand_tensor_name(spec.name, layer);
      if (!names.empty()) {
        auto it = std::find(wanted.begin(), wanted.end(), name);
        if (it == wanted.end()) continue;
        wanted.erase(it);
      }
      TensorView* view = weight_slot(weights, spec, layer);
      if (view == nullptr || view->data == nullptr) continue;
      FullParameter p;
      p.tensor = name;
      p.shape = view->shape;
      p.value.resize(static_cast<size_t>(view->numel()));
      const int64_t cols = view->shape.size() >= 2 ? view->cols() : view->numel();
      const int64_t rows = view->numel() / std::max<int64_t>(cols, 1);
      if (view->shape.size() >= 2) {
        for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(*view, r, p.value.data() + r * cols);
      } else if (view->dtype == DType::F32) {
        std::copy_n(reinterpret_cast<const float*>(view->data), p.value.size(), p.value.data());
      } else {
        throw Error("--full: tensor " + name + " is stored as a non-float32 vector, which cannot be trained here");
      }
      parameters.push_back(std::move(p));
    }
  }
  if (!wanted.empty()) throw Error("--full: no tensor named '" + wanted.front() + "' in this model (canonical names, e.g. layers.0.mlp.up_proj.weight)");
  return parameters;
}

// The model as a Hugging Face folder with the trained tensors in place (float32).
std::string write_full_model(const FinetuneOptions& options, const std::vector<FullParameter>& trained) {
  const std::string folder = (fs::path(options.out) / "model").string();
  ConvertOptions convert;
  convert.format = "hf";
  convert.type = "f32";
  convert.source = options.load;
  convert_model(options.model, folder, convert);
  const std::string file = (fs::path(folder) / "model.safetensors").string();
  WeightSource written;
  read_safetensors_file(file, written, "", /*canonicalize=*/false);
  std::map<std::string, const FullParameter*> by_name;
  for (const FullParameter& p : trained) by_name[p.tensor] = &p;
  std::vector<NamedTensor> tensors;
  size_t replaced = 0;
  for (const std::string& name : written.names()) {
    const SourceTensor* tensor = written.find(name);
    auto it = by_name.find(canonical_hf_name(name));
    if (it != by_name.end()) {
      const FullParameter& p = *it->second;
      tensors.push_back({name, TensorView{DType::F32, p.shape, reinterpret_cast<const uint8_t*>(p.value.data()), p.value.size() * 4}});
      ++replaced;
    } else {
      tensors.push_back({name, tensor->view});
    }
  }
  if (replaced != trained.size()) {
    throw Error(file + ": " + std::to_string(trained.size() - replaced) + " trained tensors have no counterpart in the converted model");
  }
  // Written beside, then renamed over, because `written` maps the old file.
  write_safetensors(file + ".new", tensors);
  written = WeightSource{};
  fs::rename(file + ".new", file);
  return folder;
}

std::string checkpoint_of(const std::string& folder) {
  if (fs::exists(fs::path(folder) / "trainer_state.json")) return folder;
  return (fs::path(folder) / "checkpoint").string();
}

}  // namespace

FinetuneResult finetune(const FinetuneOptions& options, const std::function<void(const FinetuneProgress&)>& on_progress,
                        const std::atomic<bool>* stop) {
  if (options.model.empty()) throw Error("finetune: no model given");
  if (options.data.empty()) throw Error("finetune: no training data given (--data)");
  if (options.out.empty()) throw Error("finetune: no output folder given (--out)");
  if (!options.load.lora_adapters.empty()) throw Error("finetune: train on the base model; --lora adapters cannot be merged first");
  if (options.format != "peft" && options.format != "keras") {
    throw Error("finetune: --format must be 'peft' or 'keras', got '" + options.format + "'");
  }
  CausalLM::Options load;
  static_cast<LoadOptions&>(load) = options.load;
  load.max_context = std::max<int64_t>(options.sequence_length, 16);
  std::unique_ptr<CausalLM> lm = CausalLM::load(options.model, load);
  if (lm->tokenizer() == nullptr) throw Error("finetune: the model '" + options.model + "' has no tokenizer");
  const TextModel& model = text_model_of(lm->backbone());

  train::ExampleEncoder encoder;
  encoder.tokenizer = lm->tokenizer();
  encoder.chat_template = &lm->chat_template();
  encoder.template_options = lm->chat_template_options();
  std::vector<train::TrainingExample> train_examples = train::read_training_file(options.data, encoder);
  std::vector<train::TrainingExample> eval_examples;
  if (!options.eval_data.empty()) eval_examples = train::read_training_file(options.eval_data, encoder);

  std::unique_ptr<LoraTrainingState> lora;
  std::vector<FullParameter> full;
  if (options.full) {
    full = full_parameters(model, options.full_tensors);
  } else {
    lora = std::make_unique<LoraTrainingState>(model.config(), options.rank, options.targets, options.alpha, options.seed);
  }

  train::TrainerOptions trainer_options;
  trainer_options.steps = options.steps;
  trainer_options.batch = options.batch;
  trainer_options.accumulate = options.accumulate;
  trainer_options.sequence_length = options.sequence_length;
  trainer_options.schedule.peak = options.learning_rate;
  trainer_options.schedule.warmup_steps = options.warmup_steps;
  trainer_options.schedule.final_ratio = options.final_lr_ratio;
  trainer_options.adamw.weight_decay = static_cast<float>(options.weight_decay);
  trainer_options.max_grad_norm = options.max_grad_norm;
  trainer_options.eval_every = options.eval_every;
  trainer_options.seed = options.seed;
  train::BackwardOptions backward;
  backward.checkpoint_activations = options.checkpoint_activations;
  BackwardEngine engine(model, backward);
  train::Trainer trainer(engine, lora.get(), std::move(full), std::move(train_examples), std::move(eval_examples),
                         trainer_options);
  if (!options.resume.empty()) trainer.load_checkpoint(checkpoint_of(options.resume));

  FinetuneResult result;
  result.trainable_parameters = lora ? lora->trainable_parameter_count() : 0;
  for (const FullParameter& p : trainer.full_parameters()) result.trainable_parameters += static_cast<int64_t>(p.value.size());
  result.checkpoint = (fs::path(options.out) / "checkpoint").string();

  const train::RunSummary summary = trainer.run(
      result.checkpoint, options.checkpoint_every,
      [&](const train::RunProgress& p) {
        if (!on_progress) return;
        FinetuneProgress progress;
        progress.step = p.report.step;
        progress.total_steps = options.steps;
        progress.loss = p.report.loss;
        progress.learning_rate = p.report.learning_rate;
        progress.grad_norm = p.report.grad_norm;
        progress.tokens_per_second = p.tokens_per_second;
        progress.eta_seconds = p.eta_seconds;
        if (p.eval_loss >= 0) progress.eval_loss = p.eval_loss;
        on_progress(progress);
      },
      stop);
  result.steps_done = summary.steps_done;
  result.interrupted = summary.interrupted;
  result.last_loss = summary.last_loss;
  if (summary.eval_loss >= 0) result.eval_loss = summary.eval_loss;
  if (lora) {
    result.output = options.format == "keras" ? (fs::path(options.out) / "model.lora.h5").string() : options.out;
    lora->save_lora_weights(result.output);
  } else {
    result.output = write_full_model(options, trainer.full_parameters());
  }
  return result;
}

}  // namespace gemma4
