// The OpenAI-compatible HTTP API's wire format, without any HTTP: request JSON -> gemma4 types, results ->
// response JSON and server-sent-event chunks. `gemma4 serve` (tools/gemma4/cmd_serve.cc) puts it on a socket;
// keeping it here makes every request and error shape unit-testable.
//
//   POST /v1/chat/completions   {"messages": [...] (role, content as text or text / image_url / input_audio
//                                parts, name, tool_calls, tool_call_id, reasoning_content), "max_tokens",
//                                "temperature", "top_p", "top_k", "min_p",
//                                "repetition_penalty", "seed", "stop", "stream", "stream_options"}
//   POST /v1/completions        {"prompt": "text", same sampling fields}
//   GET  /v1/models, GET /health
//
// Fields the server does not know are ignored (clients send many); fields it knows are checked strictly.
#pragma once

#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::serve {

// A request the server refuses, as OpenAI reports it: {"error": {"message", "type", "param", "code"}}.
class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message, std::string param = {}, std::string code = {})
      : Error(message), status_(status), param_(std::move(param)), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }  // the offending field ("messages[0].content"); may be empty
  const std::string& code() const { return code_; }    // machine-readable reason; may be empty

 private:
  int status_;
  std::string param_;
  std::string code_;
};

// The OpenAI error "type" for an HTTP status: "invalid_request_error", "not_found_error", ...
std::string error_type(int status);
// The response body for an error.
std::string render_error(const ApiError& error);

enum class Endpoint { ChatCompletions, Completions, Models, Health };

// Which endpoint serves `method` `path`; throws ApiError 404 (unknown path) or 405 (known path, other method).
Endpoint route_request(std::string_view method, std::string_view path);

struct CompletionRequest {
  Endpoint endpoint = Endpoint::ChatCompletions;
  std::string model;                  // as sent; echoed back (the server has one model)
  std::vector<ChatMessage> messages;  // chat completions
  std::string prompt;                 // completions
  std::optional<int64_t> max_tokens;  // absent: until a stop condition or the context is full
  SamplingConfig sampling = SamplingConfig::instruct_default();
  bool seed_given = false;            // without a seed the server picks a fresh one
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage: a last chunk with the token counts
  // Chat content parts {"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}} and
  // {"type": "input_audio", "input_audio": {"data": base64 WAV, "format": "wav"}}, decoded, in prompt order
  // (the server fetches nothing: only data URLs).
  std::vector<std::string> images;
  std::vector<std::string> audio;
};

// Standard base64 (padding optional, whitespace skipped); throws ApiError 400 naming `param`.
std::string decode_base64(std::string_view text, const std::string& param);

// Parses a request body; throws ApiError 400 naming the field, or the position of a JSON syntax error.
CompletionRequest parse_chat_completion_request(std::string_view body);
CompletionRequest parse_completion_request(std::string_view body);

// The text the model continues: the chat template with the generation prompt for chat completions, the prompt
// as sent (behind <bos>) for completions.
std::string prompt_text(const CompletionRequest& request, std::string_view bos_token = "<bos>");
// The same with the model's chat template (CausalLM::chat_template()) and its options (bos/eos text).
std::string prompt_text(const CompletionRequest& request, const ChatTemplate& chat_template,
                        const ChatTemplateOptions& template_options);

GenerationConfig generation_config(const CompletionRequest& request);

// CausalLM's stop_reason -> OpenAI's finish_reason: "stop" or "length".
std::string finish_reason(const std::string& stop_reason);

// What every response of one request shares.
struct ResponseInfo {
  Endpoint endpoint = Endpoint::ChatCompletions;
  std::string id;     // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// A new response id with the endpoint's prefix and `suffix` (e.g. a counter and random digits).
std::string response_id(Endpoint endpoint, std::string_view suffix);

// The whole answer of a non-streamed request.
std::string render_completion(const ResponseInfo& info, const std::string& text, const std::string& finish,
                              const Usage& usage);

// Server-sent events of a streamed request, each "data: {json}\n\n": the chat's opening chunk (delta with the
// role), one per piece of text, the closing one with finish_reason, optionally the usage, then "[DONE]".
std::string render_stream_start(const ResponseInfo& info);  // empty for completions (they have no role)
std::string render_stream_text(const ResponseInfo& info, const std::string& text);
std::string render_stream_finish(const ResponseInfo& info, const std::string& finish);
std::string render_stream_usage(const ResponseInfo& info, const Usage& usage);
std::string render_stream_error(const ApiError& error);
std::string render_stream_done();

std::string render_models(const std::string& model_id, int64_t created);
std::string render_health();

// The id /v1/models reports for a --model argument: its last path component ("builtin:tiny" stays as is).
std::string model_id_from_path(std::string_view model_path);

}  // namespace gemma4::serve
