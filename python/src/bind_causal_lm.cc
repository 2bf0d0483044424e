// gemma4cpp._core.CausalLM: gemma4::CausalLM generating from token ids, with the GIL released while it computes.
// Ctrl-C: generate() takes the GIL for a moment after each token to run Python's signal handlers
// (PyErr_CheckSignals) and stops when one raised; a Stream's worker thread never touches Python, and the
// thread that iterates it checks for signals while it waits for the next token.
#include <gemma4/causal_lm.h>
#include <gemma4/error.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "bindings.h"

namespace gemma4::python {
namespace {

// A CausalLM holds one KV cache: one generation at a time. `busy` is set while one runs (or a stream is open).
struct LanguageModel {
  std::shared_ptr<CausalLM> lm;
  std::atomic<bool> busy{false};
};

void claim(LanguageModel& model) {
  bool expected = false;
  if (!model.busy.compare_exchange_strong(expected, true)) {
    throw std::runtime_error(
        "this Gemma4CausalLM is already generating (an open generate_stream iterator, or another thread): finish or "
        "close that first");
  }
}

struct Claim {
  explicit Claim(LanguageModel& model) : model(model) { claim(model); }
  ~Claim() { model.busy = false; }
  LanguageModel& model;
};

GenerationConfig generation_config(int64_t max_new_tokens, const std::vector<int32_t>& stop_token_ids, float temperature,
                                   int top_k, float top_p, float min_p, float repetition_penalty, uint64_t seed,
                                   const std::vector<std::string>& stop_strings) {
  GenerationConfig config;
  config.max_new_tokens = max_new_tokens;
  // An empty list means "the tokenizer's stop ids" to the library; Python's None / () means "none at all",
  // which the Python side sends as [-1] (an id no token has).
  config.stop_token_ids = stop_token_ids;
  config.sampling.temperature = temperature;
  config.sampling.top_k = top_k;
  config.sampling.top_p = top_p;
  config.sampling.min_p = min_p;
  config.sampling.repetition_penalty = repetition_penalty;
  config.sampling.seed = seed;
  config.stop_strings = stop_strings;
  return config;
}

py::dict result_dict(GenerationResult&& result) {
  py::dict out;
  const auto count = static_cast<py::ssize_t>(result.tokens.size());
  out["token_ids"] = to_numpy(std::move(result.tokens), {count});
  out["text"] = result.text;
  out["stop_reason"] = result.stop_reason;
  out["prompt_tokens"] = result.prompt_tokens;
  out["prompt_seconds"] = result.prompt_seconds;
  out["generation_seconds"] = result.generation_seconds;
  return out;
}

py::dict generate(LanguageModel& model, const std::vector<int32_t>& prompt, const GenerationConfig& config) {
  Claim claimed(model);
  bool interrupted = false;
  GenerationResult result;
  {
    py::gil_scoped_release release;
    result = model.lm->generate(prompt, config, [&](int32_t, const std::string&) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {  // a handler raised (KeyboardInterrupt): it stays set for below
        interrupted = true;
        return false;
      }
      return true;
    });
  }
  if (interrupted) throw py::error_already_set();
  return result_dict(std::move(result));
}

// Generation on a worker thread, read as a Python iterator of (token id, text piece). The text pieces are
// whole UTF-8 characters (the library's StreamDecoder); the last item may be id -1 with the decoder's tail.
class Stream {
 public:
  Stream(std::shared_ptr<LanguageModel> owner, std::vector<int32_t> prompt, GenerationConfig config)
      : owner_(std::move(owner)) {
    claim(*owner_);
    worker_ = std::thread([this, prompt = std::move(prompt), config = std::move(config)] {
      try {
        GenerationResult result = owner_->lm->generate(prompt, config, [this](int32_t token, const std::string& text) {
          if (cancel_) return false;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.emplace_back(token, text);
          }
          ready_.notify_one();
          return true;
        });
        std::lock_guard<std::mutex> lock(mutex_);
        result_ = std::move(result);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
      }
      ready_.notify_one();
    });
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { close(); }

  py::tuple next() {
    for (;;) {
      if (closed_) throw py::stop_iteration();
      bool have = false, finished = false;
      std::pair<int32_t, std::string> item;
      {
        py::gil_scoped_release release;
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait_for(lock, std::chrono::milliseconds(50), [this] { return !queue_.empty() || done_; });
        if (!queue_.empty()) {
          item = std::move(queue_.front());
          queue_.pop_front();
          have = true;
        } else {
          finished = done_;
        }
      }
      if (have) return py::make_tuple(item.first, py::str(item.second));
      if (finished) {
        close();
        if (error_) std::rethrow_exception(error_);
        throw py::stop_iteration();
      }
      if (PyErr_CheckSignals() != 0) {
        close();
        throw py::error_already_set();
      }
    }
  }

  // Stops generation after the current token and waits for the worker (it never needs the GIL).
  void close() {
    if (closed_) return;
    cancel_ = true;
    if (worker_.joinable()) worker_.join();
    closed_ = true;
    owner_->busy = false;
  }

  py::object result() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!done_ || !closed_) return py::none();
    GenerationResult copy = result_;
    return result_dict(std::move(copy));
  }

 private:
  std::shared_ptr<LanguageModel> owner_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<int32_t, std::string>> queue_;
  bool done_ = false;
  bool closed_ = false;
  std::exception_ptr error_;
  GenerationResult result_;
  std::atomic<bool> cancel_{false};
};

#define GEMMA4_GENERATION_ARGS                                                                                    \
  py::arg("prompt"), py::arg("max_new_tokens"), py::arg("stop_token_ids") = std::vector<int32_t>(),               \
      py::arg("temperature") = 0.0f, py::arg("top_k") = 0, py::arg("top_p") = 1.0f, py::arg("min_p") = 0.0f,     \
      py::arg("repetition_penalty") = 1.0f, py::arg("seed") = 0, py::arg("stop_strings") = std::vector<std::string>()

}  // namespace

void bind_causal_lm(py::module_& m) {
  py::class_<Stream>(m, "Stream")
      .def("__iter__", [](Stream& s) -> Stream& { return s; })
      .def("__next__", &Stream::next)
      .def("close", &Stream::close)
      .def("result", &Stream::result, "The generation's summary once the stream has ended (None before).");

  py::class_<LanguageModel, std::shared_ptr<LanguageModel>>(m, "CausalLM")
      .def_static(
          "load",
          [](const std::string& model, const py::dict& options) {
            CausalLM::Options lm_options;
            static_cast<LoadOptions&>(lm_options) =
                load_options_from(options, {"max_context", "prefill_chunk", "chat_template_file"});
            if (options.contains("max_context")) lm_options.max_context = py::cast<int64_t>(options["max_context"]);
            if (options.contains("prefill_chunk")) lm_options.prefill_chunk = py::cast<int64_t>(options["prefill_chunk"]);
            if (options.contains("chat_template_file")) {
              lm_options.chat_template_file = py::cast<std::string>(options["chat_template_file"]);
            }
            auto out = std::make_shared<LanguageModel>();
            py::gil_scoped_release release;
            out->lm = std::shared_ptr<CausalLM>(CausalLM::load(model, lm_options));
            return out;
          },
          py::arg("model"), py::arg("options") = py::dict())
      // The backbone and tokenizer live inside the CausalLM: the returned handles keep it alive.
      .def("backbone",
           [](const LanguageModel& w) {
             return std::shared_ptr<Backbone>(w.lm, const_cast<Backbone*>(&w.lm->backbone()));
           })
      .def("tokenizer",
           [](const LanguageModel& w) -> py::object {
             if (w.lm->tokenizer() == nullptr) return py::none();
             return py::cast(std::shared_ptr<Tokenizer>(w.lm, const_cast<Tokenizer*>(w.lm->tokenizer())));
           })
      .def("adds_bos", [](const LanguageModel& w) { return w.lm->adds_bos(); })
      .def("reset",
           [](LanguageModel& w) {
             Claim claimed(w);
             w.lm->reset();
           })
      .def(
          "generate",
          [](LanguageModel& w, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
             const std::vector<int32_t>& stop_token_ids, float temperature, int top_k, float top_p, float min_p,
             float repetition_penalty, uint64_t seed, const std::vector<std::string>& stop_strings) {
            return generate(w, prompt,
                            generation_config(max_new_tokens, stop_token_ids, temperature, top_k, top_p, min_p,
                                              repetition_penalty, seed, stop_strings));
          },
          GEMMA4_GENERATION_ARGS)
      .def(
          "stream",
          [](const std::shared_ptr<LanguageModel>& w, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
             const std::vector<int32_t>& stop_token_ids, float temperature, int top_k, float top_p, float min_p,
             float repetition_penalty, uint64_t seed, const std::vector<std::string>& stop_strings) {
            return std::make_unique<Stream>(w, prompt,
                                            generation_config(max_new_tokens, stop_token_ids, temperature, top_k, top_p,
                                                              min_p, repetition_penalty, seed, stop_strings));
          },
          GEMMA4_GENERATION_ARGS);
}

}  // namespace gemma4::python
