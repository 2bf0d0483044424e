// The trainer's parts against values derived by hand: AdamW steps, the warm-up + cosine schedule, clipping,
// packing and loss masks (plain text and chat turns through the Gemma 4 template), and checkpoint/resume and
// Ctrl-C with a synthetic gradient engine (a quadratic; test-only, so these tests do not need the backward pass).
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>
#include <gemma4/finetune.h>
#include <gemma4/lora_training.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>

#include "loading/builtin_model.h"
#include "train/adamw.h"
#include "train/lora_state.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "train/training_data.h"

namespace gemma4::train {
namespace {

namespace fs = std::filesystem;

TEST(FinetuneOptimizer, AdamWMatchesHandComputedSteps) {
  AdamWOptions o;
  o.beta1 = 0.9f;
  o.beta2 = 0.99f;
  o.epsilon = 1e-8f;
  o.weight_decay = 0.1f;
  AdamW adam(o);
  std::vector<float> p = {1.0f, -2.0f};
  std::vector<float> g;
  // Reference in double: decoupled decay, bias-corrected moments.
  double q[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[3][2] = {{0.5, -1.0}, {0.25, 2.0}, {-0.75, 0.0}};
  const double lrs[3] = {0.1, 0.05, 0.01};
  for (int t = 1; t <= 3; ++t) {
    g = {float(grads[t - 1][0]), float(grads[t - 1][1])};
    adam.step({{&p, &g}}, float(lrs[t - 1]));
    for (int j = 0; j < 2; ++j) {
      const double gj = grads[t - 1][j], lr = lrs[t - 1];
      m[j] = 0.9 * m[j] + 0.1 * gj;
      v[j] = 0.99 * v[j] + 0.01 * gj * gj;
      const double mh = m[j] / (1 - std::pow(0.9, t)), vh = v[j] / (1 - std::pow(0.99, t));
      q[j] = q[j] - lr * 0.1 * q[j] - lr * mh / (std::sqrt(vh) + 1e-8);
    }
    EXPECT_NEAR(p[0], q[0], 1e-6) << t;
    EXPECT_NEAR(p[1], q[1], 1e-6) << t;
  }
  // First step by hand: m_hat = g, v_hat = g^2, so p1 = 1 - 0.1*0.1*1 - 0.1 * 1 = 0.89 (x0 = 1, g = 0.5).
  AdamW fresh(o);
  std::vector<float> x = {1.0f}, gx = {0.5f};
  fresh.step({{&x, &gx}}, 0.1f);
  EXPECT_NEAR(x[0], 0.89f, 1e-6);
}

TEST(FinetuneOptimizer, ScheduleWarmupAndCosineByHand) {
  LearningRateSchedule s{1e-3, 4, 12, 0.0};
  EXPECT_DOUBLE_EQ(s.at(1), 0.25e-3);
  EXPECT_DOUBLE_EQ(s.at(4), 1e-3);
  EXPECT_NEAR(s.at(8), 0.5e-3, 1e-15);            // halfway through the decay: (1 + cos(pi/2)) / 2
  EXPECT_NEAR(s.at(6), 1e-3 * (1 + std::cos(M_PI / 4)) / 2, 1e-15);
  EXPECT_NEAR(s.at(12), 0.0, 1e-18);
  LearningRateSchedule floor{1e-3, 0, 10, 0.1};
  EXPECT_DOUBLE_EQ(floor.at(0), 1e-3);
  EXPECT_NEAR(floor.at(10), 1e-4, 1e-15);
}

TEST(FinetuneOptimizer, ClipByGlobalNorm) {
  std::vector<float> a = {3.0f}, b = {0.0f, 4.0f};
  EXPECT_DOUBLE_EQ(clip_by_global_norm({&a, &b}, 1.0), 5.0);
  EXPECT_NEAR(a[0], 0.6f, 1e-7);
  EXPECT_NEAR(b[1], 0.8f, 1e-7);
  std::vector<float> c = {0.3f};
  clip_by_global_norm({&c}, 1.0);
  EXPECT_EQ(c[0], 0.3f);  // under the limit: unchanged
}

TrainingExample example(std::vector<int32_t> tokens) {
  TrainingExample e;
  e.tokens = tokens;
  e.target.assign(tokens.size(), 1);
  e.target[0] = 0;
  return e;
}

TEST(FinetuneData, PackingByHand) {
  // Lengths 2, 2, 4, 6 packed into 5: [e0 e1] (4), [e2] (4), [e3 first 5], [e3 last 1] dropped (too short).
  const std::vector<TrainingExample> ex = {example({10, 11}), example({20, 21}), example({30, 31, 32, 33}),
                                           example({40, 41, 42, 43, 44, 45})};
  const auto seqs = pack_examples(ex, {0, 1, 2, 3}, 5);
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs[0].tokens, (std::vector<int32_t>{10, 11, 20, 21}));
  EXPECT_EQ(seqs[0].target_mask, (std::vector<uint8_t>{0, 1, 0, 1}));  // e1's first token is no target
  EXPECT_EQ(seqs[1].tokens, (std::vector<int32_t>{30, 31, 32, 33}));
  EXPECT_EQ(seqs[2].tokens, (std::vector<int32_t>{40, 41, 42, 43, 44}));
  EXPECT_EQ(seqs[2].target_mask, (std::vector<uint8_t>{0, 1, 1, 1, 1}));
  // Order is followed.
  const auto reversed = pack_examples(ex, {1, 0}, 5);
  EXPECT_EQ(reversed[0].tokens, (std::vector<int32_t>{20, 21, 10, 11}));
  EXPECT_THROW(pack_examples(ex, {0}, 1), Error);
  // The shuffle is a permutation and depends on the seed.
  auto order = shuffled_order(10, 3);
  std::vector<size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(order, shuffled_order(10, 4));
}

struct TinyText {
  std::unique_ptr<CausalLM> lm;
  ExampleEncoder encoder;
  TinyText() {
    CausalLM::Options o;
    o.max_context = 64;
    lm = CausalLM::load(kBuiltinTinyModel, o);
    encoder.tokenizer = lm->tokenizer();
    encoder.chat_template = &lm->chat_template();
    encoder.template_options = lm->chat_template_options();
  }
  std::string decode(const TrainingExample& e, uint8_t which) const {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < e.tokens.size(); ++i)
      if (e.target[i] == which) ids.push_back(e.tokens[i]);
    return lm->tokenizer()->decode(ids, false);
  }
};

TEST(FinetuneData, TextLineHasLossOnEveryTokenAfterBos) {
  TinyText t;
  const TrainingExample e = encode_example(R"({"text": "hello world"})", t.encoder, "x:1");
  const Tokenizer& tok = *t.lm->tokenizer();
  std::vector<int32_t> expected = {tok.bos_id()};
  for (int32_t id : tok.encode("hello world")) expected.push_back(id);
  expected.push_back(tok.eos_id());
  EXPECT_EQ(e.tokens, expected);
  ASSERT_EQ(e.target.size(), expected.size());
  EXPECT_EQ(e.target[0], 0);
  for (size_t i = 1; i < e.target.size(); ++i) EXPECT_EQ(e.target[i], 1);
}

TEST(FinetuneData, ChatLossOnModelTurnsOnly) {
  TinyText t;
  const TrainingExample e = encode_example(
      R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"},
                       {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "See you"}]})",
      t.encoder, "chat:1");
  // Gemma 4's turn format: <|turn>ROLE\nTEXT<turn|>\n, the assistant written as "model"; the model's turns
  // are its text and the <turn|>\n that closes them.
  EXPECT_EQ(t.decode(e, 1), "Hello there<turn|>\nSee you<turn|>\n");
  EXPECT_EQ(t.decode(e, 0), "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|turn>user\nBye<turn|>\n<|turn>model\n");
  EXPECT_THROW(encode_example(R"({"messages": [{"role": "user", "content": "Hi"}]})", t.encoder, "chat:2"), Error);
  EXPECT_THROW(encode_example(R"({"prompt": "x"})", t.encoder, "bad:3"), Error);
  EXPECT_THROW(encode_example("not json", t.encoder, "bad:4"), Error);
}

// A quadratic per sequence: loss_sum = count * 0.5 * |theta - c(seq)|^2 over every LoRA factor entry (seam
// orientation), with c depending on the sequence's first tokens, so data order and every parameter matter.
class QuadraticEngine : public GradientEngine {
 public:
  int64_t calls = 0;
  int64_t raise_at = -1;  // raise(SIGINT) during this call
  LossResult accumulate(const TrainableParameters& p, const TrainSequence& s, ParameterGradients& g) override {
    if (++calls == raise_at) std::raise(SIGINT);
    g.lora_a.resize(p.lora.size());
    g.lora_b.resize(p.lora.size());
    LossResult r = evaluate(p, s);
    const float c = centre(s), n = static_cast<float>(r.target_count);
    for (size_t i = 0; i < p.lora.size(); ++i) {
      g.lora_a[i].resize(p.lora[i].a.size(), 0.0f);
      g.lora_b[i].resize(p.lora[i].b.size(), 0.0f);
      for (size_t j = 0; j < p.lora[i].a.size(); ++j) g.lora_a[i][j] += n * (p.lora[i].a[j] - c);
      for (size_t j = 0; j < p.lora[i].b.size(); ++j) g.lora_b[i][j] += n * (p.lora[i].b[j] - c);
    }
    return r;
  }
  LossResult evaluate(const TrainableParameters& p, const TrainSequence& s) override {
    LossResult r;
    for (size_t t = 1; t < s.tokens.size(); ++t) r.target_count += s.target_mask[t] ? 1 : 0;
    const double c = centre(s);
    double sq = 0;
    for (const LoraParameter& lp : p.lora) {
      for (float x : lp.a) sq += (x - c) * (x - c);
      for (float x : lp.b) sq += (x - c) * (x - c);
    }
    r.loss_sum = 0.5 * sq * static_cast<double>(r.target_count);
    return r;
  }
  static float centre(const TrainSequence& s) { return 0.01f * static_cast<float>(s.tokens[1] % 7); }
};

std::vector<TrainingExample> synthetic_examples() {
  std::vector<TrainingExample> ex;
  for (int i = 0; i < 9; ++i) ex.push_back(example({2, 10 + i, 20 + i, 30 + i}));
  return ex;
}

TrainerOptions small_options() {
  TrainerOptions o;
  o.steps = 10;
  o.batch = 2;
  o.accumulate = 2;
  o.sequence_length = 6;
  o.schedule = {5e-3, 3, 10, 0.1};
  o.adamw.weight_decay = 0.01f;
  o.max_grad_norm = 0.5;
  o.seed = 11;
  return o;
}

Gemma4Config small_config() { return builtin_tiny_config(); }

struct Scratch {
  fs::path path;
  Scratch() : path(fs::temp_directory_path() / ("gemma4_trainer_" + std::to_string(::getpid()))) { fs::remove_all(path); }
  ~Scratch() { fs::remove_all(path); }
};

TEST(FinetuneTrainer, LossFallsAndResumeEqualsUninterruptedRun) {
  Scratch scratch;
  QuadraticEngine engine;
  LoraTrainingState straight(small_config(), 2, {}, 0, 5);
  Trainer a(engine, &straight, {}, synthetic_examples(), {}, small_options());
  const double before = a.evaluate();
  int64_t reports = 0;
  a.run((scratch.path / "a").string(), 0, [&](const RunProgress& p) { EXPECT_EQ(p.report.step, ++reports); });
  EXPECT_EQ(reports, 10);
  // Ten small Adam steps (at most ~lr each) towards the centres: the mean loss falls by a third here.
  EXPECT_LT(a.evaluate(), 0.8 * before);

  LoraTrainingState first(small_config(), 2, {}, 0, 5);
  TrainerOptions four = small_options();
  Trainer b(engine, &first, {}, synthetic_examples(), {}, four);
  for (int i = 0; i < 4; ++i) b.step();
  b.save_checkpoint((scratch.path / "b").string());

  LoraTrainingState resumed(small_config(), 2, {}, 0, 99);  // other initial values: all come from the checkpoint
  Trainer c(engine, &resumed, {}, synthetic_examples(), {}, small_options());
  c.load_checkpoint((scratch.path / "b").string());
  EXPECT_EQ(c.step_count(), 4);
  c.run((scratch.path / "c").string(), 0);
  ASSERT_EQ(c.step_count(), 10);
  for (size_t i = 0; i < straight.layers().size(); ++i) {
    EXPECT_EQ(resumed.layers()[i].a, straight.layers()[i].a) << i;
    EXPECT_EQ(resumed.layers()[i].b, straight.layers()[i].b) << i;
  }
  // A checkpoint of another shape is refused.
  LoraTrainingState other(small_config(), 3, {}, 0, 5);
  Trainer d(engine, &other, {}, synthetic_examples(), {}, small_options());
  EXPECT_THROW(d.load_checkpoint((scratch.path / "b").string()), Error);
}

TEST(FinetuneTrainer, SigintStopsBetweenStepsWithACheckpoint) {
  Scratch scratch;
  QuadraticEngine engine;
  const std::atomic<bool>* stop = stop_on_sigint();
  engine.raise_at = 4 * 3 + 1;  // during step 4 (4 micro-batches a step)
  LoraTrainingState state(small_config(), 2, {}, 0, 5);
  Trainer t(engine, &state, {}, synthetic_examples(), {}, small_options());
  const RunSummary summary = t.run((scratch.path / "ckpt").string(), 0, {}, stop);
  EXPECT_TRUE(summary.interrupted);
  EXPECT_EQ(summary.steps_done, 4);  // the step in flight finishes
  LoraTrainingState back(small_config(), 2, {}, 0, 1);
  Trainer r(engine, &back, {}, synthetic_examples(), {}, small_options());
  r.load_checkpoint((scratch.path / "ckpt").string());
  EXPECT_EQ(r.step_count(), 4);
  EXPECT_EQ(back.layers()[0].a, state.layers()[0].a);
  const_cast<std::atomic<bool>*>(stop)->store(false);
}

}  // namespace
}  // namespace gemma4::train
