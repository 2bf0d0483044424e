// gemma4 serve: an OpenAI-compatible HTTP server (chat completions, completions, embeddings, models, health,
// metrics) for one model.
// The wire format lives in src/serve/openai_protocol, the continuous batching in src/serve/scheduler
// (gemma4/serve_scheduler.h); this file is the socket and the wiring. Text requests join the running batch
// (--parallel slots, a bounded queue, 429 beyond it); prompts with images or audio and embeddings run on the
// engine thread between batch steps.
#include <gemma4/audio_features.h>
#include <gemma4/batch.h>
#include <gemma4/causal_lm.h>
#include <gemma4/image.h>
#include <gemma4/error.h>

#include <httplib.h>
#include <gemma4/serve_health.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

#include "command_registry.h"
#include "progress_bar.h"
#include "serve_http_limits.h"
#include <gemma4/openai.h>
#include <gemma4/openai_embeddings.h>
#include <gemma4/serve_metrics.h>
#include <gemma4/serve_scheduler.h>

namespace {

using gemma4::serve::ApiError;
using gemma4::serve::Endpoint;

constexpr size_t kMaxBodyBytes = 8u << 20;

struct ServeArgs {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  int64_t context = 4096;
  std::string kv_type = "bf16";
  int threads = 0;
  std::string alias;
  std::string mmproj;
  std::string api_key;  // empty: no key needed
  int64_t parallel = 0;       // 0: gemma4::default_parallel
  int64_t queue = -1;         // -1: 2 x parallel
  int64_t batch_chunk = 128;  // prompt tokens per sequence per step
  double timeout = 600;       // seconds; 0: none
  bool offline = false;       // caches only: nothing is downloaded
  bool quiet = false;         // no progress bar while the model downloads and loads
};

// Set by SIGINT/SIGTERM: the listener stops and a running generation ends at its next token.
std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_loading{false};  // the model is loading (the listener already answers /health)

// Async-signal-safe: only atomics and _exit. A second signal ends the process at once.
extern "C" void on_stop_signal(int signal) {
  if (g_stop_requested.exchange(true)) _exit(128 + signal);
  g_stop_signal = signal;
}

// Installs the SIGINT/SIGTERM handler (whichever thread the signal lands on, it only sets the flag) and, on its
// own thread, keeps asking the server to stop once the flag is set, until it has: a signal that arrives just
// before listen() begins is not lost.
class SignalWatcher {
 public:
  explicit SignalWatcher(httplib::Server& server) : server_(server) {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
    thread_ = std::thread([this] { watch(); });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }

 private:
  void watch() {
    bool announced = false;
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!g_stop_requested) continue;
      if (g_loading) {
        std::fprintf(stderr, "gemma4 serve: stopped while loading (signal %d)\n", g_stop_signal.load());
        std::_Exit(128 + g_stop_signal.load());
      }
      if (!announced) std::fprintf(stderr, "gemma4 serve: stopping (signal %d)\n", g_stop_signal.load());
      announced = true;
      server_.stop();
    }
  }

  httplib::Server& server_;
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int64_t unix_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

void send_json(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "application/json");
}

void send_error(httplib::Response& response, const ApiError& error) {
  send_json(response, error.status(), gemma4::serve::render_error(error));
}

using Clock = std::chrono::steady_clock;

// Counts one request in the in-flight gauge for as long as it lives (a streamed response holds it until the
// stream ends).
class InFlight {
 public:
  explicit InFlight(gemma4::serve::ServerMetrics& metrics) : metrics_(metrics) { metrics_.request_started(); }
  ~InFlight() { metrics_.request_ended(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  gemma4::serve::ServerMetrics& metrics_;
};

class ModelServer {
 public:
  // A model that generates (`lm`; it may also have a pooling head), or an embedding model with bidirectional
  // attention, which CausalLM refuses (`embedder`, with its tokenizer if it has one).
  ModelServer(std::unique_ptr<gemma4::CausalLM> lm, std::unique_ptr<gemma4::Backbone> embedder,
              std::unique_ptr<gemma4::Tokenizer> embedder_tokenizer, std::string model_id, int64_t context,
              std::string api_key, const gemma4::serve::SchedulerOptions& scheduler_options)
      : lm_(std::move(lm)),
        embedder_(std::move(embedder)),
        embedder_tokenizer_(std::move(embedder_tokenizer)),
        model_id_(std::move(model_id)),
        context_(context),
        created_(unix_seconds()),
        api_key_(std::move(api_key)) {
    if (lm_) template_options_ = lm_->chat_template_options();
    if (lm_) scheduler_ = std::make_unique<gemma4::serve::Scheduler>(*lm_, scheduler_options, &metrics_);
  }

  // Null for an embedding model (nothing generates).
  gemma4::serve::Scheduler* scheduler() { return scheduler_.get(); }

  gemma4::serve::ServerMetrics& metrics() { return metrics_; }

  void handle(const httplib::Request& request, httplib::Response& response) {
    auto in_flight = std::make_shared<InFlight>(metrics_);
    const Clock::time_point arrived = Clock::now();
    try {
      // Before routing: without the key, not even which paths exist is told.
      if (request.path != "/health") gemma4::serve::check_api_key(request.get_header_value("Authorization"), api_key_);
      const Endpoint endpoint = gemma4::serve::route_request(request.method, request.path);
      switch (endpoint) {
        case Endpoint::Health: return send_json(response, 200, gemma4::serve::render_health());
        case Endpoint::Models: return send_json(response, 200, gemma4::serve::render_models(model_id_, created_));
        case Endpoint::Metrics:
          response.status = 200;
          return response.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
        case Endpoint::Embeddings: return embed(request, response);
        case Endpoint::ChatCompletions:
        case Endpoint::Completions: return complete(endpoint, request, response, arrived, in_flight);
      }
    } catch (const gemma4::serve::Overloaded& e) {
      response.set_header("Retry-After", std::to_string(e.retry_after_seconds()));
      send_error(response, e);
    } catch (const ApiError& e) {
      send_error(response, e);
    } catch (const gemma4::Error& e) {  // the library refusing the input (e.g. a prompt longer than the context)
      send_error(response, ApiError(400, e.what()));
    } catch (const std::exception& e) {
      send_error(response, ApiError(500, std::string("internal error: ") + e.what()));
    }
  }

 private:
  // A request ready to run: its prompt ids, generation settings and the fields every response repeats.
  struct Job {
    std::vector<int32_t> prompt;
    gemma4::CausalLM::Media media;  // images and audio clips of the chat, converted for the encoders
    gemma4::GenerationConfig config;
    gemma4::serve::ResponseInfo info;
    bool include_usage = false;
    gemma4::serve::ChatReplyOptions reply;  // chat completions: stop strings, parallel calls, call ids
    int choices = 1;                        // n
    int top_logprobs = -1;                  // -1: none
    // For the latency histograms: when the request arrived and when its last token came.
    Clock::time_point arrived;
    mutable Clock::time_point last_token;
    mutable bool any_token = false;
  };

  // One generated token of `job`: time to first token, or time since the previous one.
  void note_token(const Job& job) {
    const Clock::time_point now = Clock::now();
    const std::chrono::duration<double> since = now - (job.any_token ? job.last_token : job.arrived);
    if (job.any_token) {
      metrics_.observe_inter_token(since.count());
    } else {
      metrics_.observe_time_to_first_token(since.count());
    }
    job.any_token = true;
    job.last_token = now;
  }

  void count_tokens(const Job& job, const std::vector<gemma4::GenerationResult>& results) {
    metrics_.add_prompt_tokens(static_cast<int64_t>(job.prompt.size()));
    for (const auto& result : results) metrics_.add_generated_tokens(static_cast<int64_t>(result.tokens.size()));
  }

  // POST /v1/embeddings: all inputs in one Backbone::forward, right-padded, each row's padding masked out.
  void embed(const httplib::Request& request, httplib::Response& response) {
    const gemma4::Backbone& backbone = lm_ ? lm_->backbone() : *embedder_;
    const gemma4::Tokenizer* tokenizer = lm_ ? lm_->tokenizer() : embedder_tokenizer_.get();
    const bool adds_bos = lm_ ? lm_->adds_bos() : true;  // Gemma's tokenizers start every text with <bos>
    const gemma4::Gemma4Config& config = backbone.config();
    if (!config.is_embedding_model || !config.embedding_dim) {
      throw ApiError(400, "model '" + model_id_ + "' is not an embedding model (it has no pooling head); "
                     "/v1/embeddings needs one", "model", "model_not_supported");
    }
    const gemma4::serve::EmbeddingRequest parsed = gemma4::serve::parse_embedding_request(request.body, config.vocabulary_size);
    std::vector<std::vector<int32_t>> sequences;
    for (size_t i = 0; i < parsed.inputs.size(); ++i) {
      const gemma4::serve::EmbeddingInput& input = parsed.inputs[i];
      const std::string param = parsed.inputs.size() == 1 ? "input" : "input[" + std::to_string(i) + "]";
      if (!input.text) {
        sequences.push_back(input.tokens);
      } else if (!tokenizer) {
        throw ApiError(400, "model '" + model_id_ + "' has no tokenizer: send 'input' as token ids, not text", param,
                       "invalid_value");
      } else {
        std::vector<int32_t> ids;
        if (adds_bos && tokenizer->bos_id() >= 0) ids.push_back(tokenizer->bos_id());
        const std::vector<int32_t> text_ids = tokenizer->encode(*input.text);
        ids.insert(ids.end(), text_ids.begin(), text_ids.end());
        sequences.push_back(std::move(ids));
      }
      if (static_cast<int64_t>(sequences.back().size()) > context_) {
        throw ApiError(400, "'" + param + "' has " + std::to_string(sequences.back().size()) +
                                " tokens but the context holds " + std::to_string(context_),
                       param, "context_length_exceeded");
      }
    }
    gemma4::BackboneInputs inputs;
    inputs.batch_size = static_cast<int64_t>(sequences.size());
    size_t longest = 0;
    int64_t total = 0;
    for (const auto& ids : sequences) {
      longest = std::max(longest, ids.size());
      total += static_cast<int64_t>(ids.size());
    }
    inputs.sequence_length = static_cast<int64_t>(longest);
    const int32_t pad = config.pad_token_id >= 0 ? static_cast<int32_t>(config.pad_token_id) : 0;
    inputs.token_ids.assign(sequences.size() * longest, pad);
    inputs.padding_mask.assign(sequences.size() * longest, 0);
    for (size_t b = 0; b < sequences.size(); ++b) {
      for (size_t t = 0; t < sequences[b].size(); ++t) {
        inputs.token_ids[b * longest + t] = sequences[b][t];
        inputs.padding_mask[b * longest + t] = 1;
      }
    }
    gemma4::ForwardOptions options;
    options.compute_logits = false;
    gemma4::BackboneOutputs outputs;
    if (scheduler_) {
      scheduler_->run_exclusive([&] { outputs = backbone.forward(inputs, options); });  // between batch steps
    } else {
      std::lock_guard<std::mutex> lock(embedding_mutex_);  // the model's threads serve one request at a time
      outputs = backbone.forward(inputs, options);
    }
    metrics_.add_prompt_tokens(total);
    send_json(response, 200,
              gemma4::serve::render_embeddings(outputs.pooled_output, *config.embedding_dim,
                                               parsed.model.empty() ? model_id_ : parsed.model, total, parsed.base64));
  }

  void complete(Endpoint endpoint, const httplib::Request& request, httplib::Response& response,
                Clock::time_point arrived, std::shared_ptr<InFlight> in_flight) {
    if (!lm_) {
      throw ApiError(400, "model '" + model_id_ + "' is an embedding model (bidirectional attention): it cannot "
                     "generate text; use /v1/embeddings", "model", "model_not_supported");
    }
    const gemma4::serve::CompletionRequest parsed = endpoint == Endpoint::ChatCompletions
                                                        ? gemma4::serve::parse_chat_completion_request(request.body)
                                                        : gemma4::serve::parse_completion_request(request.body);
    auto job = std::make_shared<Job>();
    job->arrived = arrived;
    job->media = convert_media(parsed);
    gemma4::ChatTemplateOptions options = template_options_;
    if (endpoint == Endpoint::Completions && !lm_->adds_bos()) options.bos_token.clear();  // a document as is
    const std::string text = gemma4::serve::prompt_text(parsed, lm_->chat_template(), options);
    const bool has_media = !job->media.images.empty() || !job->media.audio.empty();
    job->prompt = has_media ? lm_->tokenize_with_media(text, job->media) : lm_->tokenizer()->encode(text);
    if (static_cast<int64_t>(job->prompt.size()) > context_) {
      throw ApiError(400,
                     "the prompt has " + std::to_string(job->prompt.size()) + " tokens but the context holds " +
                         std::to_string(context_) + " (shorten it, or restart the server with a larger --context)",
                     endpoint == Endpoint::ChatCompletions ? "messages" : "prompt", "context_length_exceeded");
    }
    job->config = gemma4::serve::generation_config(parsed);
    if (!parsed.seed_given) job->config.sampling.seed = fresh_seed();
    const std::string id_suffix = next_id_suffix();
    job->info.endpoint = endpoint;
    job->info.id = gemma4::serve::response_id(endpoint, id_suffix);
    job->info.created = unix_seconds();
    job->info.model = parsed.model.empty() ? model_id_ : parsed.model;
    job->include_usage = parsed.include_usage;
    job->reply.stop = parsed.stop;
    job->reply.parallel_tool_calls = parsed.parallel_tool_calls;
    job->reply.in_thought_channel = gemma4::serve::prompt_opens_thought_channel(text);
    job->reply.call_id_prefix = id_suffix;

    job->choices = parsed.n;
    job->top_logprobs = parsed.top_logprobs;
    if (has_media && (job->choices > 1 || job->top_logprobs >= 0)) {
      throw ApiError(400, "'n' > 1 and 'logprobs' are not supported with images or audio", job->choices > 1 ? "n" : "logprobs",
                     "unsupported_parameter");
    }
    if (!parsed.stream) {
      std::vector<Choice> choices = make_choices(*job);
      const std::vector<gemma4::GenerationResult> results = run(*job, choices, nullptr);
      const gemma4::serve::Usage total = usage(*job, results);
      if (endpoint == Endpoint::ChatCompletions) {
        std::vector<gemma4::serve::ChatChoice> out;
        for (size_t c = 0; c < choices.size(); ++c) {
          out.push_back({&choices[c].reply->reply(), chat_finish(choices[c], results[c]), logprobs_of(*job, choices[c])});
        }
        return send_json(response, 200, gemma4::serve::render_chat_completion_choices(job->info, out, total));
      }
      std::vector<gemma4::serve::CompletionChoice> out;
      for (size_t c = 0; c < choices.size(); ++c) {
        out.push_back({choices[c].text, gemma4::serve::finish_reason(results[c].stop_reason), logprobs_of(*job, choices[c])});
      }
      return send_json(response, 200, gemma4::serve::render_completion_choices(job->info, out, total));
    }
    // Streamed: queued now, so that a full server answers 429 before the stream starts.
    auto ticket = has_media ? nullptr : submit(*job);
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider("text/event-stream", [this, job, in_flight, ticket](size_t, httplib::DataSink& sink) {
      return stream(*job, ticket, sink);
    });
  }

  // One choice of a request being generated: its reply (chat) or text (completions), and its log-probabilities.
  struct Choice {
    std::unique_ptr<gemma4::serve::ChatReplyBuilder> reply;
    std::unique_ptr<gemma4::serve::ChatTokenDecoder> decoder;
    std::string text;
    std::vector<gemma4::serve::TokenLogprobEntry> logprobs;  // all of them (whole answers)
    std::vector<gemma4::serve::TokenLogprobEntry> unsent;    // not yet in a chunk (streams)
    bool started = false;                                   // stream: role chunk sent
  };

  std::vector<Choice> make_choices(const Job& job) const {
    std::vector<Choice> choices(static_cast<size_t>(job.choices));
    for (Choice& choice : choices) {
      if (job.info.endpoint == Endpoint::ChatCompletions) {
        choice.reply = std::make_unique<gemma4::serve::ChatReplyBuilder>(job.reply);
        choice.decoder = std::make_unique<gemma4::serve::ChatTokenDecoder>(*lm_->tokenizer());
      }
    }
    return choices;
  }

  const std::vector<gemma4::serve::TokenLogprobEntry>* logprobs_of(const Job& job, const Choice& choice) const {
    return job.top_logprobs >= 0 ? &choice.logprobs : nullptr;
  }

  // ChatReplyBuilder's finish_reason; a timeout or a shutdown cut the reply short like the token limit.
  static std::string chat_finish(const Choice& choice, const gemma4::GenerationResult& result) {
    const bool cut = result.stop_reason == "timeout" || result.stop_reason == "shutdown";
    return choice.reply->finish_reason(cut ? "max_tokens" : result.stop_reason);
  }

  std::shared_ptr<gemma4::serve::Ticket> submit(const Job& job) {
    if (g_stop_requested) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
    return scheduler_->submit(job.prompt, job.config, job.top_logprobs, job.choices);
  }

  // Generates every choice of `job`. Each token goes into its choice (the chat reply's parser, or the text)
  // and, when `on_update` is set (streams), on_update(c, delta, text) gets what became certain; its false
  // (the client is gone) cancels the request. Requests with images or audio run alone, between batch steps.
  using OnUpdate = std::function<bool(int choice, const gemma4::OutputDelta& delta, const std::string& text)>;
  std::vector<gemma4::GenerationResult> run(const Job& job, std::vector<Choice>& choices, const OnUpdate& on_update,
                                            std::shared_ptr<gemma4::serve::Ticket> ticket = nullptr) {
    std::vector<gemma4::GenerationResult> results(choices.size());
    std::vector<bool> live(choices.size(), true);
    const gemma4::Tokenizer& tokenizer = *lm_->tokenizer();
    // false: stop this choice (its reply is over, or the client is gone).
    auto take = [&](int c, const gemma4::TokenEvent& event) {
      Choice& choice = choices[static_cast<size_t>(c)];
      if (event.token >= 0) {
        note_token(job);
        if (job.top_logprobs >= 0) {
          gemma4::serve::TokenLogprobEntry entry{tokenizer.token_bytes(event.token), event.logprob, {}};
          for (const auto& alternative : event.top) entry.top.emplace_back(tokenizer.token_bytes(alternative.token), alternative.logprob);
          choice.logprobs.push_back(entry);
          choice.unsent.push_back(std::move(entry));
        }
      }
      gemma4::OutputDelta delta;
      std::string text;
      if (choice.reply) {
        if (event.token >= 0) delta = choice.reply->feed(choice.decoder->push(event.token));
      } else {
        text = event.text;
        choice.text += text;
      }
      bool keep = !choice.reply || !choice.reply->ended();
      if (on_update && (!delta.empty() || !text.empty())) keep = on_update(c, delta, text) && keep;
      return keep && !g_stop_requested.load();
    };
    if (!job.media.images.empty() || !job.media.audio.empty()) {
      scheduler_->run_exclusive([&] {
        results[0] = lm_->generate(job.prompt, job.media, job.config, [&](int32_t token, const std::string& text) {
          gemma4::TokenEvent event;
          event.token = token;
          event.text = text;
          return take(0, event);
        });
      });
    } else {
      if (!ticket) ticket = submit(job);
      std::vector<gemma4::serve::TicketEvent> events;
      bool cancelled_all = false;
      while (ticket->take(events, std::chrono::milliseconds(100))) {
        for (gemma4::serve::TicketEvent& event : events) {
          const size_t c = static_cast<size_t>(event.choice);
          if (event.done) {
            results[c] = std::move(*event.done);
            live[c] = false;
            continue;
          }
          if (live[c] && !take(event.choice, event.token)) {
            live[c] = false;
            ticket->cancel(event.choice, g_stop_requested ? "shutdown" : "callback");
          }
        }
        events.clear();
        if (g_stop_requested && !cancelled_all) {  // graceful shutdown: end every stream at its next step
          ticket->cancel(-1, "shutdown");
          cancelled_all = true;
        }
      }
    }
    count_tokens(job, results);
    for (size_t c = 0; c < choices.size(); ++c) {
      if (results[c].stop_reason.rfind("error", 0) == 0) {
        throw ApiError(results[c].stop_reason.find("error: ") == 0 ? 400 : 500,
                       results[c].stop_reason == "error" ? "internal error: the batch step failed"
                                                         : results[c].stop_reason.substr(7));
      }
      Choice& choice = choices[c];
      if (!choice.reply) continue;
      const gemma4::OutputDelta last = choice.reply->finish(choice.decoder->flush());
      if (on_update && !last.empty()) on_update(static_cast<int>(c), last, {});
      for (const gemma4::OutputParseError& error : choice.reply->reply().errors) {
        std::fprintf(stderr, "%s: malformed tool call kept as content (byte %zu: %s)\n", job.info.id.c_str(),
                     error.offset, error.message.c_str());
      }
    }
    return results;
  }

  // Decodes the request's image and audio parts; a model without the encoder, or bytes that are not an
  // image / a 16 kHz WAV, are the client's error (400).
  gemma4::CausalLM::Media convert_media(const gemma4::serve::CompletionRequest& parsed) const {
    using namespace gemma4;
    CausalLM::Media media;
    if (!parsed.images.empty() && !lm_->backbone().has_vision()) {
      throw ApiError(400, "this model has no vision encoder: it cannot take image_url parts", "messages",
                     "unsupported_value");
    }
    if (!parsed.audio.empty() && !lm_->backbone().has_audio()) {
      throw ApiError(400, "this model has no audio encoder: it cannot take input_audio parts", "messages",
                     "unsupported_value");
    }
    for (size_t i = 0; i < parsed.images.size(); ++i) {
      const auto& bytes = parsed.images[i];
      media.images.push_back(lm_->backbone().prepare_image(decode_image(
          reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "image " + std::to_string(i + 1) + " of the request")));
    }
    for (size_t i = 0; i < parsed.audio.size(); ++i) {
      const auto& bytes = parsed.audio[i];
      const std::string what = "audio clip " + std::to_string(i + 1) + " of the request";
      int64_t rate = 0;
      const std::vector<float> samples = decode_wav(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), what, &rate);
      media.audio.push_back(lm_->backbone().prepare_audio(samples, rate, what));
    }
    return media;
  }

  // Runs a streamed request inside httplib's content provider; false drops the connection (client gone).
  bool stream(const Job& job, std::shared_ptr<gemma4::serve::Ticket> ticket, httplib::DataSink& sink) {
    using namespace gemma4::serve;
    bool connected = true;
    auto write = [&](const std::string& event) {
      if (connected && !event.empty()) connected = sink.write(event.data(), event.size());
      return connected;
    };
    std::vector<Choice> choices = make_choices(job);
    auto start = [&](int c) {
      if (!choices[static_cast<size_t>(c)].started) write(render_stream_start(job.info, c));
      choices[static_cast<size_t>(c)].started = true;
    };
    for (int c = 0; c < job.choices; ++c) start(c);
    try {
      const std::vector<gemma4::GenerationResult> results = run(
          job, choices,
          [&](int c, const gemma4::OutputDelta& delta, const std::string& text) {
            Choice& choice = choices[static_cast<size_t>(c)];
            const std::vector<TokenLogprobEntry>* logprobs = job.top_logprobs >= 0 ? &choice.unsent : nullptr;
            write(choice.reply ? render_stream_delta(job.info, delta, c, logprobs)
                               : render_stream_text(job.info, text, c, logprobs));
            choice.unsent.clear();
            return connected;
          },
          ticket);
      if (!connected) return false;
      for (size_t c = 0; c < choices.size(); ++c) {
        const Choice& choice = choices[c];
        const std::string finish = choice.reply ? chat_finish(choice, results[c]) : finish_reason(results[c].stop_reason);
        // Tokens whose text was held back (or that made none) go with the closing chunk.
        write(render_stream_finish(job.info, finish, static_cast<int>(c),
                                   job.top_logprobs >= 0 ? &choice.unsent : nullptr));
      }
      if (job.include_usage) write(render_stream_usage(job.info, usage(job, results)));
    } catch (const ApiError& e) {
      write(render_stream_error(e));
    } catch (const gemma4::Error& e) {
      write(render_stream_error(ApiError(400, e.what())));
    } catch (const std::exception& e) {
      write(render_stream_error(ApiError(500, std::string("internal error: ") + e.what())));
    }
    if (!connected) return false;
    write(render_stream_done());
    sink.done();
    return true;
  }

  static gemma4::serve::Usage usage(const Job& job, const std::vector<gemma4::GenerationResult>& results) {
    int64_t generated = 0;
    for (const auto& result : results) generated += static_cast<int64_t>(result.tokens.size());
    return {static_cast<int64_t>(job.prompt.size()), generated};
  }

  uint64_t fresh_seed() {
    std::lock_guard<std::mutex> lock(random_mutex_);
    return random_();
  }

  std::string next_id_suffix() {
    std::lock_guard<std::mutex> lock(random_mutex_);
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%llx%06llx", static_cast<unsigned long long>(random_()),
                  static_cast<unsigned long long>(++request_count_));
    return buffer;
  }

  std::unique_ptr<gemma4::CausalLM> lm_;
  std::unique_ptr<gemma4::Backbone> embedder_;
  std::unique_ptr<gemma4::Tokenizer> embedder_tokenizer_;
  std::string model_id_;
  gemma4::ChatTemplateOptions template_options_;  // the model's <bos>/<eos> text for its chat template
  int64_t context_;
  int64_t created_;
  std::string api_key_;
  gemma4::serve::ServerMetrics metrics_;
  std::mutex embedding_mutex_;  // an embedding model (no scheduler): one forward at a time
  std::unique_ptr<gemma4::serve::Scheduler> scheduler_;  // last: its engine thread stops before the rest goes
  std::mutex random_mutex_;
  std::mt19937_64 random_{std::random_device{}()};
  uint64_t request_count_ = 0;
};

// Errors httplib answers itself (413 body too large, 400 unreadable request, ...) get OpenAI's error body too.
std::string default_error_message(int status) {
  switch (status) {
    case 413: return "the request body is larger than the limit of " + std::to_string(kMaxBodyBytes) + " bytes";
    case 400: return "the HTTP request could not be read";
    default: return "HTTP error " + std::to_string(status);
  }
}

// A model folder whose config asks for bidirectional attention (an embedding model such as EmbeddingGemma):
// CausalLM refuses those, so the server loads the bare Backbone for /v1/embeddings.
bool is_bidirectional_folder(const std::string& model) {
  if (!std::filesystem::is_directory(model)) return false;
  try {
    return gemma4::config_from_folder(model).use_bidirectional_attention;
  } catch (const gemma4::Error&) {
    return false;  // CausalLM::load reports what is wrong with it
  }
}

// The load /health reports for an embedding model, which has no scheduler: one batch at a time (one slot),
// requests beyond it wait, up to this many before the replica calls itself overloaded.
constexpr int64_t kMaxWaitingEmbeddings = 16;

void run_serve(const ServeArgs& args) {
  if (args.threads > 0) gemma4::set_num_threads(args.threads);
  if (args.port < 0 || args.port > 65535) throw gemma4::Error("--port must be in [0, 65535], got " + std::to_string(args.port));

  httplib::Server server;
  SignalWatcher watcher(server);
  gemma4::serve::Health health;
  std::atomic<ModelServer*> ready_server{nullptr};

  // The listener starts first, so that /health says "loading" while the model loads; until then every other
  // path gets 503 as well (llama-server's behaviour).
  const httplib::Server::Handler handler = [&](const httplib::Request& request, httplib::Response& response) {
    if (request.path == "/health" && request.method == "GET") {
      const gemma4::serve::HealthReply reply = health.reply();
      response.status = reply.status;
      return response.set_content(reply.body, "application/json");
    }
    ModelServer* model_server = ready_server.load();
    if (model_server == nullptr) {
      response.status = 503;
      return response.set_content(gemma4::serve::render_health_reply(gemma4::serve::HealthState::kLoading, {}).body,
                                  "application/json");
    }
    model_server->handle(request, response);
  };
  // One catch-all route per method: the protocol layer decides 404 (unknown path) versus 405 (wrong method).
  server.Get(".*", handler).Post(".*", handler).Put(".*", handler).Patch(".*", handler).Delete(".*", handler);
  server.Options(".*", handler);
  server.set_payload_max_length(kMaxBodyBytes);
  // Every running and queued request holds a connection thread while it waits, plus a few for the rest; the
  // default --parallel is at most 8 (default_parallel), its queue twice that.
  if (args.parallel < 0 || args.batch_chunk <= 0 || args.timeout < 0) {
    throw gemma4::Error("--parallel must be >= 0, --batch-chunk > 0 and --timeout >= 0");
  }
  const int64_t most_parallel = args.parallel > 0 ? args.parallel : 8;
  const int64_t most_queued = args.queue >= 0 ? args.queue : 2 * most_parallel;
  gemma4::serve_http::HttpLimits http_limits;
  http_limits.connection_threads =
      std::max(http_limits.connection_threads, static_cast<size_t>(most_parallel + most_queued + 8));
  gemma4::serve_http::apply_http_limits(server, http_limits);
  // httplib's default also sets SO_REUSEPORT, which lets a second server share a busy port silently.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) send_error(response, ApiError(response.status, default_error_message(response.status)));
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
    send_error(response, ApiError(500, "internal error"));
  });
  server.set_logger([&](const httplib::Request& request, const httplib::Response& response) {
    if (ModelServer* model_server = ready_server.load()) {
      model_server->metrics().count_request(gemma4::serve::metrics_endpoint_label(request.path), response.status);
    }
    std::fprintf(stderr, "%s %s -> %d\n", request.method.c_str(), request.path.c_str(), response.status);
  });
  health.set_load_getter([&] {
    ModelServer* model_server = ready_server.load();
    if (model_server == nullptr) return gemma4::serve::ServerLoad{};
    if (gemma4::serve::Scheduler* scheduler = model_server->scheduler()) return scheduler->load();
    const int64_t active = model_server->metrics().in_flight();
    return gemma4::serve::ServerLoad{std::min<int64_t>(active, 1), 1, std::max<int64_t>(active - 1, 0),
                                     kMaxWaitingEmbeddings};
  });

  int port = args.port;
  if (port == 0) {
    port = server.bind_to_any_port(args.host);
  } else if (!server.bind_to_port(args.host, port)) {
    port = -1;
  }
  if (port < 0) {
    throw gemma4::Error("cannot listen on " + args.host + ":" + std::to_string(args.port) +
                        " (address in use, or not an address of this machine)");
  }
  gemma4::serve_http::widen_listen_backlog(port, http_limits.listen_backlog);
  std::fprintf(stderr, "gemma4 serve: accepting connections on http://%s:%d while the model loads (/health: loading)\n",
               args.host.c_str(), port);
  std::thread listener([&server] { server.listen_after_bind(); });
  // httplib's listen marks the server running when it starts: a stop() before that is lost and the listener
  // would then run forever. So wait (boundedly) until it runs, before anything below can fail and stop it.
  for (int waited_ms = 0; !server.is_running() && waited_ms < 5000; ++waited_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  g_loading = true;  // a signal now ends the process at once: nothing is written while loading
  struct StopListener {  // on every way out of this function, the listener thread ends first
    httplib::Server& server;
    std::thread& thread;
    ~StopListener() {
      if (!thread.joinable()) return;
      server.stop();
      thread.join();
    }
  } stop_listener{server, listener};

  gemma4::CausalLM::Options lm_options;
  lm_options.max_context = args.context;
  lm_options.kv_type = gemma4::parse_kv_type(args.kv_type);
  lm_options.mmproj = args.mmproj;
  lm_options.allow_download = !args.offline;
  lm_options.progress = gemma4::cli::stderr_progress(args.quiet);
  std::unique_ptr<gemma4::CausalLM> lm;
  std::unique_ptr<gemma4::Backbone> embedder;
  std::unique_ptr<gemma4::Tokenizer> embedder_tokenizer;
  if (is_bidirectional_folder(args.model)) {
    embedder = gemma4::Backbone::load(args.model, lm_options);
    try {
      embedder_tokenizer = gemma4::Tokenizer::load(args.model);
    } catch (const gemma4::Error&) {  // none in the folder: the server takes token ids only
    }
  } else {
    lm = gemma4::CausalLM::load(args.model, lm_options);
    if (!lm->tokenizer()) throw gemma4::Error("model '" + args.model + "' has no tokenizer; the server needs one");
  }
  const std::string model_id = args.alias.empty() ? gemma4::serve::model_id_from_path(args.model) : args.alias;
  std::string api_key = args.api_key;
  if (api_key.empty()) {
    if (const char* from_env = std::getenv("GEMMA4_API_KEY")) api_key = from_env;
  }
  // Continuous batching: --parallel KV slots (default from the model's KV size and the free memory), a queue
  // of twice that, prompts run --batch-chunk tokens per step beside the others' decode rows.
  gemma4::serve::SchedulerOptions scheduling;
  scheduling.context = args.context;
  scheduling.prefill_chunk = args.batch_chunk;
  scheduling.timeout_seconds = args.timeout;
  scheduling.kv_type = lm_options.kv_type;
  if (lm) {
    const gemma4::KvType kv = scheduling.kv_type;
    scheduling.parallel =
        args.parallel > 0 ? args.parallel : gemma4::default_parallel(lm->config(), args.context, args.batch_chunk, kv);
    std::fprintf(stderr,
                 "gemma4 serve: %lld parallel sequences, %.1f MiB of %s KV cache (%lld bytes per position over all "
                 "layers, %lld past the sliding window)\n",
                 static_cast<long long>(scheduling.parallel),
                 static_cast<double>(scheduling.parallel *
                                     gemma4::kv_bytes_per_sequence(lm->config(), args.context, args.batch_chunk, kv)) /
                     (1 << 20),
                 gemma4::kv_type_name(kv), static_cast<long long>(gemma4::kv_bytes_per_position(lm->config(), kv)),
                 static_cast<long long>(gemma4::kv_bytes_per_position(lm->config(), kv, /*global_only=*/true)));
  }
  scheduling.queue_limit = args.queue >= 0 ? args.queue : 2 * scheduling.parallel;
  ModelServer model_server(std::move(lm), std::move(embedder), std::move(embedder_tokenizer), model_id, args.context,
                           api_key, scheduling);
  ready_server.store(&model_server);
  health.set_ready();
  g_loading = false;
  std::fprintf(stderr, "gemma4 serve: listening on http://%s:%d (model '%s', context %lld%s)\n", args.host.c_str(),
               port, model_id.c_str(), static_cast<long long>(args.context), api_key.empty() ? "" : ", API key required");
  if (g_stop_requested) server.stop();
  listener.join();  // until a signal stops the server
  listener = std::thread();
  ready_server.store(nullptr);
  std::fprintf(stderr, "gemma4 serve: stopped\n");
}

}  // namespace

GEMMA4_REGISTER_COMMAND(serve, [](CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* sub = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API");
  sub->add_option("--model", args->model, "Model folder, GGUF file, preset name, builtin:small or builtin:tiny")->required();
  sub->add_option("--host", args->host, "Address to listen on");
  sub->add_option("--port", args->port, "Port to listen on (0 = any free port, printed at start)");
  sub->add_option("--context", args->context, "Context length (KV cache positions)");
  sub->add_option("--kv-type", args->kv_type, "KV cache storage: f32, bf16 (default) or q8_0");
  sub->add_option("--threads", args->threads, "Worker threads (default: all cores)");
  sub->add_flag("--offline", args->offline, "Use the local caches only; never download the model (as HF_HUB_OFFLINE=1)");
  sub->add_flag("--quiet", args->quiet, "No progress bar on stderr while the model downloads and loads");
  sub->add_option("--mmproj", args->mmproj, "llama.cpp projector file (default: the one mmproj*.gguf beside a GGUF model)");
  sub->add_option("--alias", args->alias, "Model id reported by /v1/models (default: the --model basename)");
  sub->add_option("--api-key", args->api_key,
                  "Require 'Authorization: Bearer KEY' on every endpoint but /health (default: $GEMMA4_API_KEY)");
  sub->add_option("--parallel", args->parallel,
                  "Sequences generated at once, each with its own KV cache slot (default: as many as fit in a quarter "
                  "of the free memory, at most 8)");
  sub->add_option("--queue", args->queue, "Requests waiting for a slot before new ones get 429 (default: 2 x parallel)");
  sub->add_option("--batch-chunk", args->batch_chunk, "Prompt tokens a sequence runs per batch step (default 128)");
  sub->add_option("--timeout", args->timeout, "Seconds a request may generate before it is ended (0: no limit; default 600)");
  sub->callback([args] { run_serve(*args); });
});
