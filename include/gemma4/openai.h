// The OpenAI-compatible HTTP API's wire format, without any HTTP: request JSON -> gemma4 types, results ->
// response JSON and server-sent-event chunks. `gemma4 serve` (tools/gemma4/cmd_serve.cc) puts it on a socket;
// keeping it here makes every request and error shape unit-testable.
//
//   POST /v1/chat/completions   {"messages": [...] (role, content as text or text / image_url / input_audio
//                                parts, name, tool_calls, tool_call_id, reasoning_content), "max_tokens",
//                                "temperature", "top_p", "top_k", "min_p",
//                                "repetition_penalty", "seed", "stop", "stream", "stream_options",
//                                "tools", "tool_choice", "parallel_tool_calls", "n" (1-16 choices),
//                                "logprobs" (true/false), "top_logprobs" (0-20),
//                                "chat_template_kwargs": {"enable_thinking", "preserve_thinking"}}
//   POST /v1/completions        {"prompt": "text", same sampling fields, "logprobs": 0-5 (legacy: the count of
//                                top alternatives per token)}
// Log-probabilities are the model's (log-softmax of the logits, before temperature and the sampling filters);
// a token's text is its decoded bytes.
//   POST /v1/embeddings         {"input": text | [texts] | [ids] | [[ids]], "encoding_format": "float" | "base64"}
//                               (embedding models: gemma4/openai_embeddings.h)
//   GET  /v1/models, GET /health, GET /metrics (Prometheus text: gemma4/serve_metrics.h)
//
// With an API key (`serve --api-key`), every endpoint but GET /health needs "Authorization: Bearer KEY";
// check_api_key() refuses the rest with 401.
//
// Fields the server does not know are ignored (clients send many); fields it knows are checked strictly.
//
// Tools and thinking (chat completions only). The tools are declared to the model by its chat template; what
// it writes back is split by gemma4/output_parser.h into message.content, message.reasoning_content and
// message.tool_calls (finish_reason "tool_calls"), streamed as OpenAI streams them.
//   tool_choice "auto" (default) declares the tools; "none" renders the prompt without them. "required" and a
//   named function are refused (400 unsupported_value): without constrained decoding nothing makes the model
//   call a tool, and answering with a call it did not write, or an error after generating, is worse than
//   saying so up front.
//   parallel_tool_calls false ends the reply after its first complete call (true, the default: as written).
//   chat_template_kwargs.enable_thinking / preserve_thinking are the template's variables (vLLM's and
//   llama-server's spelling); other keys are ignored. reasoning_effort is ignored: Gemma 4 thinks or does not,
//   it has no effort levels to map low/medium/high onto.
#pragma once

#include <gemma4/causal_lm.h>
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/output_parser.h>
#include <gemma4/tokenizer.h>

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

enum class Endpoint { ChatCompletions, Completions, Embeddings, Models, Health, Metrics };

// Throws ApiError 401 (code "invalid_api_key") unless `authorization` is "Bearer " + `api_key`; the key is
// compared in constant time (its length is not hidden). An empty `api_key` lets everything through.
void check_api_key(std::string_view authorization, std::string_view api_key);

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
  // Tool use and thinking (chat completions). `tools`: each declaration as JSON text, as sent (checked to be
  // OpenAI function tools); empty when none were sent or tool_choice is "none".
  std::vector<std::string> tools;
  bool parallel_tool_calls = true;
  std::optional<bool> enable_thinking;    // chat_template_kwargs; absent: the server's default
  std::optional<bool> preserve_thinking;
  int n = 1;               // choices
  int top_logprobs = -1;   // -1: no logprobs; 0: the chosen tokens'; k: and the k most likely at each step
};

// Standard base64 (padding optional, whitespace skipped); throws ApiError 400 naming `param`.
std::string decode_base64(std::string_view text, const std::string& param);

// Parses a request body; throws ApiError 400 naming the field, or the position of a JSON syntax error.
CompletionRequest parse_chat_completion_request(std::string_view body);
CompletionRequest parse_completion_request(std::string_view body);

// The text the model continues: the chat template with the generation prompt for chat completions, the prompt
// as sent (behind <bos>) for completions.
std::string prompt_text(const CompletionRequest& request, std::string_view bos_token = "<bos>");
// The same with the model's chat template (CausalLM::chat_template()) and its options (bos/eos text, the
// server's thinking default); the request's tools and chat_template_kwargs are added to them.
std::string prompt_text(const CompletionRequest& request, const ChatTemplate& chat_template,
                        const ChatTemplateOptions& template_options);

// Sampling, the token limit and, for completions, the stop strings. Chat completions match their stop strings
// in the reply's text with its markup (ChatReplyBuilder), so they are not in the config.
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

// One generated token's log-probability and the most likely alternatives, as the response carries them.
struct TokenLogprobEntry {
  std::string token;  // the token's decoded bytes
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

// A new response id with the endpoint's prefix and `suffix` (e.g. a counter and random digits).
std::string response_id(Endpoint endpoint, std::string_view suffix);

// The whole answer of a non-streamed request.
std::string render_completion(const ResponseInfo& info, const std::string& text, const std::string& finish,
                              const Usage& usage);

// Server-sent events of a streamed request, each "data: {json}\n\n": the chat's opening chunk (delta with the
// role), one per piece of text, the closing one with finish_reason, optionally the usage, then "[DONE]".
// `index`: the choice (n > 1); `logprobs` (optional): the tokens this chunk covers.
std::string render_stream_start(const ResponseInfo& info, int index = 0);  // empty for completions (no role)
std::string render_stream_text(const ResponseInfo& info, const std::string& text, int index = 0,
                               const std::vector<TokenLogprobEntry>* logprobs = nullptr);
std::string render_stream_finish(const ResponseInfo& info, const std::string& finish, int index = 0,
                                 const std::vector<TokenLogprobEntry>* logprobs = nullptr);
std::string render_stream_usage(const ResponseInfo& info, const Usage& usage);
std::string render_stream_error(const ApiError& error);
std::string render_stream_done();

// ---- Chat replies: the model's text (special tokens kept) -> content, reasoning and tool calls ----

// A chat reply as the response carries it.
struct ChatReply {
  std::string content;
  std::string reasoning;
  std::vector<ParsedToolCall> tool_calls;  // ids assigned ("call_..."), indices 0, 1, ...
  std::vector<OutputParseError> errors;    // malformed calls (their text is in `content`), for the log
};

// True when the prompt ends inside an open thought channel ("<|channel>thought\n"): the reply starts as
// reasoning (Google's templates write this after a tool response when thinking is on).
bool prompt_opens_thought_channel(std::string_view prompt);

struct ChatReplyOptions {
  std::vector<std::string> stop;    // stop strings, matched in the text with its markup but not inside a tool
                                    // call; the reply ends before the first one
  bool parallel_tool_calls = true;  // false: the reply ends after its first complete tool call
  bool in_thought_channel = false;  // see prompt_opens_thought_channel
  std::string call_id_prefix;       // tool call k gets the id "call_" + prefix + "_" + k (unique per response)
};

// Assembles one chat reply from the model's text as it is generated, for the streamed and the whole response
// alike: stop strings are cut (text that may be the start of one is held back; inside a tool call's markup
// they do not count, so a "," or "\n" stop cannot break a call), the rest goes through
// OutputStreamParser. Each feed()/finish() returns what became certain, with tool-call ids assigned.
class ChatReplyBuilder {
 public:
  explicit ChatReplyBuilder(ChatReplyOptions options);
  // Adds generated text (any split); text after the end of the reply is ignored.
  OutputDelta feed(std::string_view text);
  // The model stopped: adds its last text (the decoder's flush) and releases what was held back.
  OutputDelta finish(std::string_view last_text = {});
  // The reply is over (an end marker, a stop string, or the first call with parallel_tool_calls false): the
  // caller should stop generating.
  bool ended() const { return ended_; }
  // Everything so far (complete after finish()).
  const ChatReply& reply() const { return reply_; }
  // OpenAI's finish_reason for CausalLM's stop_reason: "length" when the token limit or the context cut the
  // reply short, else "tool_calls" when it holds calls, else "stop".
  std::string finish_reason(const std::string& stop_reason) const;

 private:
  OutputDelta record(OutputDelta delta);
  ChatReplyOptions options_;
  OutputStreamParser parser_;
  std::string held_;      // text that may be the start of a stop string (or of a call's marker)
  bool in_call_ = false;  // held_ starts inside a tool call, where stop strings are not matched
  bool ended_ = false;
  bool stopped_ = false;  // ended by this builder (stop string, first call), not by the model's stop token
  bool finished_ = false;
  ChatReply reply_;
};

// Generated token ids -> the text ChatReplyBuilder reads: decoded with special-token text kept, but special
// tokens that are not reply markup (<|image|>, <pad>, ...) dropped, as a decode that skips special tokens would.
class ChatTokenDecoder {
 public:
  explicit ChatTokenDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer), decoder_(tokenizer, false) {}
  std::string push(int32_t token);
  std::string flush() { return decoder_.flush(); }
  // The markup the output parser reads: <|channel> <channel|> <|tool_call> <tool_call|> <|"|> <turn|> <|turn>
  // <|tool_response>.
  static bool is_reply_markup(std::string_view piece);

 private:
  const Tokenizer& tokenizer_;
  StreamDecoder decoder_;
};

// The whole answer of a non-streamed chat request: message.content (null when empty and there are tool calls),
// message.reasoning_content (when there is any), message.tool_calls [{id, type "function", function {name,
// arguments as JSON text}}].
std::string render_chat_completion(const ResponseInfo& info, const ChatReply& reply, const std::string& finish,
                                   const Usage& usage);
// The stream chunks for one delta of a chat reply (possibly none): reasoning_content, then content, then per
// completed call one chunk announcing it ({index, id, type, function {name, arguments: ""}}) and one with its
// arguments. Calls are sent once complete, never as they start: one that turns out malformed is content.
// `logprobs` (optional) go with the first chunk of the delta.
std::string render_stream_delta(const ResponseInfo& info, const OutputDelta& delta, int index = 0,
                                const std::vector<TokenLogprobEntry>* logprobs = nullptr);

// n choices in one whole answer (render_completion / render_chat_completion are the one-choice case);
// `logprobs` null: "logprobs": null.
struct CompletionChoice {
  std::string text;
  std::string finish;
  const std::vector<TokenLogprobEntry>* logprobs = nullptr;
};
std::string render_completion_choices(const ResponseInfo& info, const std::vector<CompletionChoice>& choices,
                                      const Usage& usage);
struct ChatChoice {
  const ChatReply* reply = nullptr;
  std::string finish;
  const std::vector<TokenLogprobEntry>* logprobs = nullptr;
};
std::string render_chat_completion_choices(const ResponseInfo& info, const std::vector<ChatChoice>& choices,
                                           const Usage& usage);

std::string render_models(const std::string& model_id, int64_t created);
std::string render_health();

// The id /v1/models reports for a --model argument: its last path component ("builtin:tiny" stays as is).
std::string model_id_from_path(std::string_view model_path);

}  // namespace gemma4::serve
