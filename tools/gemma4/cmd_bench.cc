// gemma4 bench: load time, prompt (prefill) and decode speed, and peak memory of one model.
// Prefill = one chunk of N tokens from an empty cache, plus the logits of its last row, computed as
// generation does it (rows other than the last stop at the last layer that writes the KV cache); with
// --all-rows also with every row through every layer, the work an engine without that shortcut does.
// Decode = greedy single-token steps after a short prompt. Each figure is the median of --repeat runs.
// The KV cache is stored as --kv-type (bf16 by default, as generation); its bytes per position are reported.
#include <gemma4/error.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "command_registry.h"
#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/memory_bandwidth.h"
#include "model/backbone_parts.h"
#include "model/kv_cache.h"
#include "model/text_model.h"
#include "model/weights.h"

namespace {

struct BenchArgs {
  std::string model;
  int prefill = 512;
  int decode = 64;
  int prompt = 16;
  int threads = 0;
  int repeat = 3;
  std::string quantize = "none";
  std::string kv_type = "bf16";
  bool json = false;
  bool bandwidth = false;
  bool all_rows = false;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Peak resident memory (VmHWM), which reset_peak_rss() can lower to the current figure (Linux); elsewhere
// ru_maxrss, which never goes down.
double peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB
}

// So the bandwidth probe's 1 GiB buffer, freed by now, does not count in the model's peak.
void reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (clear_refs) clear_refs << "5";
}

// Bytes of weights one decode step reads: every matrix once (lookups into the embedding tables are a
// row each and are left out).
double weight_bytes_per_token(const gemma4::ModelWeights& w) {
  double bytes = 0;
  for (const auto& layer : w.layers) {
    for (const gemma4::TensorView* v : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj, &layer.gate_proj,
                                        &layer.up_proj, &layer.down_proj, &layer.ple_gate, &layer.ple_projection,
                                        &layer.router_proj}) {
      bytes += static_cast<double>(v->nbytes);
    }
  }
  return bytes + static_cast<double>(w.per_layer_model_projection.nbytes) + static_cast<double>(w.lm_head.nbytes);
}

// Bytes of keys and values one decode step reads at `context` positions: each storing layer's visible keys
// (a sliding layer's window at most).
double kv_read_bytes_per_token(const gemma4::Gemma4Config& config, gemma4::KvType type, int64_t context) {
  double bytes = 0;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    if (config.is_kv_shared(layer)) continue;
    const int64_t seen = config.is_windowed(layer) ? std::min(context, config.sliding_window_size) : context;
    const int64_t row = config.layer_kv_heads(layer) * config.layer_head_dim(layer);
    bytes += 2.0 * static_cast<double>(seen) * static_cast<double>(gemma4::kv_type_row_bytes(type, row));
  }
  return bytes;
}

std::vector<int32_t> random_tokens(int64_t count, int64_t vocab, uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int64_t> pick(3, vocab - 1);
  std::vector<int32_t> ids(static_cast<size_t>(count));
  for (auto& id : ids) id = static_cast<int32_t>(pick(engine));
  return ids;
}

int32_t argmax(const std::vector<float>& values) {
  return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

void run_bench(const BenchArgs& args) {
  using namespace gemma4;
  if (args.threads > 0) ThreadPool::set_global_threads(args.threads);
  ThreadPool& pool = ThreadPool::global();
  const KvType kv_type = parse_kv_type(args.kv_type);

  // Load to first token: read, bind (and quantize), then one token through the model and its logits.
  const auto load_start = Clock::now();
  LoadOptions options;
  options.quantize = args.quantize;
  const std::unique_ptr<Backbone> backbone = Backbone::load(args.model, options);
  const TextModel& model = text_model_of(*backbone);
  const double load_seconds = seconds_since(load_start);
  const auto& config = model.config();
  const int64_t vocab = config.vocabulary_size;
  const int64_t width = config.hidden_dim;
  std::vector<float> hidden(static_cast<size_t>(std::max(args.prefill, args.prompt) * width));
  std::vector<float> logits(static_cast<size_t>(vocab));
  {
    KvCache cache(config, 8, 1);
    const int32_t token = 2;
    ChunkInput input;
    input.token_ids = &token;
    input.length = 1;
    model.forward_chunk_tail(input, cache, 1, hidden.data());
    model.logits(hidden.data(), 1, logits.data());
  }
  const double first_token_seconds = seconds_since(load_start);

  // Bandwidth on a shared host drifts by tens of percent within minutes: measure it before and after
  // the runs and keep the higher figure, so the decode share is never flattered by a slow moment.
  double bandwidth = 0.0;
  if (args.bandwidth) {
    bandwidth = kernels::measure_read_bandwidth(pool);
    reset_peak_rss();
  }
  std::vector<double> prefill_rates, all_rows_rates, decode_rates;
  for (int r = 0; r < args.repeat; ++r) {
    if (args.prefill > 0) {
      const auto tokens = random_tokens(args.prefill, vocab, 100 + r);
      ChunkInput input;
      input.token_ids = tokens.data();
      input.length = args.prefill;
      // Generation wants the last row only; with every row wanted, all go through every layer.
      auto timed_prefill = [&](int64_t wanted_rows) {
        KvCache cache(config, args.prefill, args.prefill, /*with_activations=*/true, kv_type);
        const auto start = Clock::now();
        model.forward_chunk_tail(input, cache, wanted_rows, hidden.data());
        model.logits(hidden.data() + (wanted_rows - 1) * width, 1, logits.data());
        return args.prefill / seconds_since(start);
      };
      prefill_rates.push_back(timed_prefill(1));
      if (args.all_rows) all_rows_rates.push_back(timed_prefill(args.prefill));
    }
    if (args.decode > 0) {
      const auto tokens = random_tokens(args.prompt, vocab, 200 + r);
      KvCache cache(config, args.prompt + args.decode, std::max(args.prompt, 1), /*with_activations=*/true, kv_type);
      ChunkInput input;
      input.token_ids = tokens.data();
      input.length = args.prompt;
      model.forward_chunk_tail(input, cache, 1, hidden.data());
      model.logits(hidden.data(), 1, logits.data());
      int32_t next = argmax(logits);
      const auto start = Clock::now();
      for (int step = 0; step < args.decode; ++step) {
        ChunkInput one;
        one.token_ids = &next;
        one.length = 1;
        model.forward_chunk(one, cache, hidden.data());
        model.logits(hidden.data(), 1, logits.data());
        next = argmax(logits);
      }
      decode_rates.push_back(args.decode / seconds_since(start));
    }
  }
  const double bytes_per_token = weight_bytes_per_token(model.weights());
  const int64_t kv_position = KvCache::bytes_per_position(config, kv_type);
  const int64_t kv_position_global = KvCache::bytes_per_position(config, kv_type, /*global_only=*/true);
  const double kv_read = args.decode > 0 ? kv_read_bytes_per_token(config, kv_type, args.prompt + args.decode / 2) : 0;
  const double peak = peak_rss_bytes();  // before the second probe allocates its buffer
  if (args.bandwidth) bandwidth = std::max(bandwidth, kernels::measure_read_bandwidth(pool));
  const double prefill = prefill_rates.empty() ? 0 : median(prefill_rates);
  const double prefill_all_rows = all_rows_rates.empty() ? 0 : median(all_rows_rates);
  const double decode = decode_rates.empty() ? 0 : median(decode_rates);
  const auto& cpu = kernels::cpu_features();
  const std::string kernels_used = cpu.bf16_activations ? (cpu.avx512_vnni ? "avx512bf16+vnni" : "avx512bf16")
                                   : cpu.avx2      ? "avx2"
                                                   : "portable";

  if (args.json) {
    std::printf(
        "{\"model\": \"%s\", \"threads\": %d, \"quantize\": \"%s\", \"kernels\": \"%s\", \"load_s\": %.4f, "
        "\"first_token_s\": %.4f, \"prefill_tokens\": %d, \"prefill_tok_s\": %.3f, \"prefill_all_rows_tok_s\": %.3f, \"decode_tokens\": %d, "
        "\"decode_tok_s\": %.3f, \"weight_bytes_per_token\": %.0f, \"decode_read_bytes_s\": %.0f, "
        "\"bandwidth_bytes_s\": %.0f, \"peak_rss_bytes\": %.0f, \"kv_type\": \"%s\", \"kv_bytes_per_position\": %lld, "
        "\"kv_bytes_per_position_past_window\": %lld, \"kv_read_bytes_per_token\": %.0f, \"prefill_runs\": [",
        args.model.c_str(), pool.num_threads(), args.quantize.c_str(), kernels_used.c_str(), load_seconds,
        first_token_seconds, args.prefill, prefill, prefill_all_rows, args.decode, decode, bytes_per_token, bytes_per_token * decode,
        bandwidth, peak, kv_type_name(kv_type), static_cast<long long>(kv_position),
        static_cast<long long>(kv_position_global), kv_read);
    for (size_t i = 0; i < prefill_rates.size(); ++i) std::printf("%s%.3f", i ? ", " : "", prefill_rates[i]);
    std::printf("], \"decode_runs\": [");
    for (size_t i = 0; i < decode_rates.size(); ++i) std::printf("%s%.3f", i ? ", " : "", decode_rates[i]);
    std::printf("]}\n");
  } else {
    std::printf("model            %s (%d threads, kernels: %s, quantize: %s)\n", args.model.c_str(),
                pool.num_threads(), kernels_used.c_str(), args.quantize.c_str());
    std::printf("load             %.3f s (first token after %.3f s)\n", load_seconds, first_token_seconds);
    std::printf("prefill          %.2f tok/s (%d tokens, median of %zu)\n", prefill, args.prefill, prefill_rates.size());
    if (args.all_rows) {
      std::printf("prefill all rows %.2f tok/s (every row through every layer)\n", prefill_all_rows);
    }
    std::printf("decode           %.2f tok/s (%d steps after %d, median of %zu)\n", decode, args.decode, args.prompt,
                decode_rates.size());
    std::printf("weights/token    %.3f GB -> %.2f GB/s read while decoding\n", bytes_per_token / 1e9,
                bytes_per_token * decode / 1e9);
    if (args.bandwidth) {
      std::printf("memory bandwidth %.2f GB/s measured -> decode at %.0f%% of it\n", bandwidth / 1e9,
                  100.0 * bytes_per_token * decode / bandwidth);
    }
    std::printf("KV cache         %s: %lld bytes per position over all layers (%lld past the sliding window)\n",
                kv_type_name(kv_type), static_cast<long long>(kv_position), static_cast<long long>(kv_position_global));
    if (args.decode > 0) {
      std::printf("KV read/token    %.3f MB at %d positions (%.2f GB/s while decoding)\n", kv_read / 1e6,
                  args.prompt + args.decode / 2, kv_read * decode / 1e9);
    }
    std::printf("peak resident    %.3f GB\n", peak / 1e9);
  }
}

}  // namespace

GEMMA4_REGISTER_COMMAND(bench, [](CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand("bench", "Measure load time, prefill and decode speed, and peak memory");
  sub->add_option("--model", args->model, "Model folder or GGUF file")->required();
  sub->add_option("--prefill", args->prefill, "Prompt length of the prefill measurement (0: skip)");
  sub->add_option("--decode", args->decode, "Greedy decode steps (0: skip)");
  sub->add_option("--prompt", args->prompt, "Prompt length before the decode steps");
  sub->add_option("--threads", args->threads, "Worker threads (default: all cores)");
  sub->add_option("--repeat", args->repeat, "Runs of each measurement; the median is reported");
  sub->add_option("--quantize", args->quantize, "Quantize the matrices on load: none, q8_0 or q4_0");
  sub->add_option("--kv-type", args->kv_type, "KV cache storage: f32, bf16 (default) or q8_0");
  sub->add_flag("--bandwidth", args->bandwidth, "Also measure the memory read bandwidth (1 GiB buffer, before and after the runs; the higher counts)");
  sub->add_flag("--json", args->json, "One JSON object on stdout");
  sub->add_flag("--all-rows", args->all_rows,
                "Also measure prefill with every row through every layer (no KV-shared-layer shortcut)");
  sub->callback([args] {
    if (args->prompt < 1) throw gemma4::Error("--prompt must be at least 1");
    if (args->repeat < 1) throw gemma4::Error("--repeat must be at least 1");
    run_bench(*args);
  });
});
