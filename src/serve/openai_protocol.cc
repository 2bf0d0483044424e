#include <gemma4/openai.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <limits>

#include "serve/tool_request.h"
#include "text/chat_message_json.h"

namespace gemma4::serve {
namespace {

using Json = nlohmann::json;             // responses
using RequestJson = text::OrderedJson;    // requests: tool-call arguments keep their key order
using text::find_field;
using text::string_field;
using text::json_type_name;
using text::wrong_type;

// Model text is valid UTF-8 by the tokenizer's contract, but a bad byte must never turn into an exception here.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

ApiError bad_request(const std::string& message, const std::string& param, const std::string& code = {}) {
  return ApiError(400, message, param, code);
}

RequestJson parse_body(std::string_view body) {
  RequestJson j;
  try {
    j = RequestJson::parse(body.begin(), body.end());
  } catch (const RequestJson::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
    std::string what = e.what();
    const size_t start = what.find("] ");
    if (start != std::string::npos) what = what.substr(start + 2);
    throw bad_request("the request body is not valid JSON (byte " + std::to_string(e.byte) + "): " + what, "",
                      "invalid_json");
  } catch (const RequestJson::out_of_range& e) {  // a number beyond double's range, e.g. 1e999
    std::string what = e.what();
    const size_t start = what.find("] ");
    if (start != std::string::npos) what = what.substr(start + 2);
    throw bad_request("the request body is not valid JSON: " + what, "", "invalid_json");
  }
  if (!j.is_object()) throw bad_request(std::string("the request body must be a JSON object, not ") +
                                            json_type_name(j), "", "invalid_json");
  return j;
}

std::optional<double> number_field(const RequestJson& object, const char* key) {
  const RequestJson* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) throw wrong_type(key, "a number", *value);
  return value->get<double>();
}

std::optional<int64_t> integer_field(const RequestJson& object, const char* key) {
  const RequestJson* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (value->is_number_unsigned()) {
    if (value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw bad_request("'" + std::string(key) + "' is too large", key, "invalid_value");
    }
    return static_cast<int64_t>(value->get<uint64_t>());
  }
  if (!value->is_number_integer()) throw wrong_type(key, "an integer", *value);
  return value->get<int64_t>();
}

std::optional<bool> bool_field(const RequestJson& object, const char* key) {
  const RequestJson* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw wrong_type(key, "true or false", *value);
  return value->get<bool>();
}

ApiError out_of_range(const std::string& param, const std::string& allowed, double found) {
  Json shown = found;
  return bad_request("'" + param + "' must be " + allowed + ", got " + dump(shown), param, "invalid_value");
}

// The fields both endpoints share.
void parse_common(const RequestJson& j, CompletionRequest& request) {
  if (auto model = string_field(j, "model", "model")) request.model = *model;

  auto max_tokens = integer_field(j, "max_tokens");
  const char* max_name = "max_tokens";
  if (auto newer = integer_field(j, "max_completion_tokens")) {
    max_tokens = newer;
    max_name = "max_completion_tokens";
  }
  if (max_tokens && *max_tokens < 1) throw out_of_range(max_name, "at least 1", static_cast<double>(*max_tokens));
  request.max_tokens = max_tokens;

  SamplingConfig& s = request.sampling;
  if (auto t = number_field(j, "temperature")) {
    if (!(*t >= 0)) throw out_of_range("temperature", "at least 0", *t);
    s.temperature = static_cast<float>(*t);
  }
  if (auto p = number_field(j, "top_p")) {
    if (!(*p > 0 && *p <= 1)) throw out_of_range("top_p", "in (0, 1]", *p);
    s.top_p = static_cast<float>(*p);
  }
  if (auto k = integer_field(j, "top_k")) {
    if (*k < 0 || *k > std::numeric_limits<int>::max()) {
      throw out_of_range("top_k", "at least 0 (0 = no limit)", static_cast<double>(*k));
    }
    s.top_k = static_cast<int>(*k);
  }
  if (auto m = number_field(j, "min_p")) {
    if (!(*m >= 0 && *m <= 1)) throw out_of_range("min_p", "in [0, 1]", *m);
    s.min_p = static_cast<float>(*m);
  }
  if (auto r = number_field(j, "repetition_penalty")) {
    if (!(*r > 0)) throw out_of_range("repetition_penalty", "greater than 0", *r);
    s.repetition_penalty = static_cast<float>(*r);
  }
  // OpenAI's additive penalties do not map onto the multiplicative repetition penalty; only "none" is accepted.
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    if (auto penalty = number_field(j, key); penalty && *penalty != 0) {
      throw bad_request(std::string("'") + key + "' is not supported (only 0); use 'repetition_penalty'", key,
                        "unsupported_parameter");
    }
  }
  if (const RequestJson* seed = find_field(j, "seed")) {
    if (seed->is_number_unsigned()) {
      s.seed = seed->get<uint64_t>();
    } else if (seed->is_number_integer()) {
      s.seed = static_cast<uint64_t>(seed->get<int64_t>());  // negative seeds are as good as any
    } else {
      throw wrong_type("seed", "an integer", *seed);
    }
    request.seed_given = true;
  }
  if (auto n = integer_field(j, "n")) {
    if (*n < 1 || *n > 16) throw out_of_range("n", "in [1, 16]", static_cast<double>(*n));
    request.n = static_cast<int>(*n);
  }
  if (request.endpoint == Endpoint::ChatCompletions) {
    // Chat: "logprobs": true, with "top_logprobs": k alternatives (OpenAI allows 0-20, and only with logprobs).
    const std::optional<bool> logprobs = bool_field(j, "logprobs");
    const std::optional<int64_t> top = integer_field(j, "top_logprobs");
    if (top && (*top < 0 || *top > 20)) throw out_of_range("top_logprobs", "in [0, 20]", static_cast<double>(*top));
    if (top && !logprobs.value_or(false)) {
      throw bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs", "invalid_value");
    }
    if (logprobs.value_or(false)) request.top_logprobs = static_cast<int>(top.value_or(0));
  } else if (const RequestJson* logprobs = find_field(j, "logprobs"); logprobs && !logprobs->is_null()) {
    // Completions (legacy): "logprobs": k, the alternatives per token (0-5); null or absent: none.
    const std::optional<int64_t> k = integer_field(j, "logprobs");
    if (*k < 0 || *k > 5) throw out_of_range("logprobs", "in [0, 5]", static_cast<double>(*k));
    request.top_logprobs = static_cast<int>(*k);
  }
  // Tools are declared through the chat template; a raw completion has nowhere to put them.
  if (const RequestJson* tools = find_field(j, "tools");
      request.endpoint == Endpoint::Completions && tools && !(tools->is_array() && tools->empty())) {
    throw bad_request("'tools' is not supported by /v1/completions (use /v1/chat/completions)", "tools",
                      "unsupported_parameter");
  }

  if (const RequestJson* stop = find_field(j, "stop")) {
    if (stop->is_string()) {
      request.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (size_t i = 0; i < stop->size(); ++i) {
        const std::string param = "stop[" + std::to_string(i) + "]";
        if (!(*stop)[i].is_string()) throw wrong_type(param, "a string", (*stop)[i]);
        request.stop.push_back((*stop)[i].get<std::string>());
      }
    } else {
      throw wrong_type("stop", "a string or an array of strings", *stop);
    }
    for (const auto& text : request.stop) {
      if (text.empty()) throw bad_request("'stop' strings must not be empty", "stop", "invalid_value");
    }
  }

  if (auto stream = bool_field(j, "stream")) request.stream = *stream;
  if (const RequestJson* options = find_field(j, "stream_options")) {
    if (!options->is_object()) throw wrong_type("stream_options", "an object", *options);
    if (const RequestJson* usage = find_field(*options, "include_usage")) {
      if (!usage->is_boolean()) throw wrong_type("stream_options.include_usage", "true or false", *usage);
      request.include_usage = usage->get<bool>();
    }
  }
}

Json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

bool is_chat(const ResponseInfo& info) { return info.endpoint == Endpoint::ChatCompletions; }

Json token_bytes_json(const std::string& token) {
  Json bytes = Json::array();
  for (unsigned char c : token) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]}.
// Completions (legacy): {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}.
Json logprobs_json(const ResponseInfo& info, const std::vector<TokenLogprobEntry>* entries, size_t text_offset = 0) {
  if (entries == nullptr) return nullptr;
  if (is_chat(info)) {
    Json content = Json::array();
    for (const TokenLogprobEntry& entry : *entries) {
      Json top = Json::array();
      for (const auto& [token, logprob] : entry.top) {
        top.push_back({{"token", token}, {"logprob", logprob}, {"bytes", token_bytes_json(token)}});
      }
      content.push_back({{"token", entry.token},
                         {"logprob", entry.logprob},
                         {"bytes", token_bytes_json(entry.token)},
                         {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
  }
  Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(), offsets = Json::array();
  size_t offset = text_offset;
  for (const TokenLogprobEntry& entry : *entries) {
    tokens.push_back(entry.token);
    token_logprobs.push_back(entry.logprob);
    Json top = Json::object();
    for (const auto& [token, logprob] : entry.top) top[token] = logprob;
    top_logprobs.push_back(std::move(top));
    offsets.push_back(offset);
    offset += entry.token.size();
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_logprobs)},
          {"top_logprobs", std::move(top_logprobs)},
          {"text_offset", std::move(offsets)}};
}

Json chunk_json(const ResponseInfo& info, Json choices) {
  return {{"id", info.id},
          {"object", is_chat(info) ? "chat.completion.chunk" : "text_completion"},
          {"created", info.created},
          {"model", info.model},
          {"choices", std::move(choices)}};
}

std::string event(const Json& j) { return "data: " + dump(j) + "\n\n"; }

}  // namespace

std::string decode_base64(std::string_view text, const std::string& param) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = value_of(c);
    if (v < 0 || padding) {
      throw ApiError(400, "'" + param + "' is not valid base64 (character " + std::to_string(i) + ")", param,
                     "invalid_value");
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if (out.empty()) throw ApiError(400, "'" + param + "' holds no data", param, "invalid_value");
  return out;
}

std::string error_type(int status) {
  switch (status) {
    case 404: return "not_found_error";
    case 405: return "method_not_allowed_error";
    case 401: return "invalid_request_error";  // OpenAI's type for a missing or wrong API key
    case 413: return "request_too_large_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string render_error(const ApiError& error) {
  Json body = {{"error",
                {{"message", error.what()},
                 {"type", error_type(error.status())},
                 {"param", error.param().empty() ? Json() : Json(error.param())},
                 {"code", error.code().empty() ? Json() : Json(error.code())}}}};
  return dump(body);
}

Endpoint route_request(std::string_view method, std::string_view path) {
  struct Route {
    std::string_view path;
    std::string_view method;
    Endpoint endpoint;
  };
  static constexpr std::array<Route, 6> kRoutes = {{{"/v1/chat/completions", "POST", Endpoint::ChatCompletions},
                                                    {"/v1/completions", "POST", Endpoint::Completions},
                                                    {"/v1/embeddings", "POST", Endpoint::Embeddings},
                                                    {"/v1/models", "GET", Endpoint::Models},
                                                    {"/health", "GET", Endpoint::Health},
                                                    {"/metrics", "GET", Endpoint::Metrics}}};
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    if (route.method == method || (route.method == "GET" && method == "HEAD")) return route.endpoint;
    throw ApiError(405, std::string(path) + " takes " + std::string(route.method) + ", not " + std::string(method),
                   "", "method_not_allowed");
  }
  throw ApiError(404, "no such endpoint: " + std::string(method) + " " + std::string(path) +
                          " (this server has POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings, "
                          "GET /v1/models, GET /health, GET /metrics)",
                 "", "not_found");
}

namespace {

// Parses the body and the endpoint's own fields (`read_endpoint_fields`), then the shared ones; a field error
// of the shared readers becomes the 400 ApiError that names the field.
template <class ReadFields>
CompletionRequest parse_request(std::string_view body, Endpoint endpoint, ReadFields read_endpoint_fields) {
  try {
    const RequestJson j = parse_body(body);
    CompletionRequest request;
    request.endpoint = endpoint;
    read_endpoint_fields(j, request);
    parse_common(j, request);
    return request;
  } catch (const text::JsonFieldError& e) {
    throw bad_request(e.what(), e.param(), e.code());
  }
}

}  // namespace

CompletionRequest parse_chat_completion_request(std::string_view body) {
  return parse_request(body, Endpoint::ChatCompletions, [](const RequestJson& j, CompletionRequest& request) {
    const RequestJson* messages = find_field(j, "messages");
    if (!messages) throw bad_request("'messages' is required", "messages", "missing_field");
    if (!messages->is_array()) throw wrong_type("messages", "an array of messages", *messages);
    if (messages->empty()) throw bad_request("'messages' must not be empty", "messages", "invalid_value");
    for (size_t i = 0; i < messages->size(); ++i) {
      text::ParsedChatMessage parsed = text::parse_chat_message((*messages)[i], i, {.strict = true});
      for (const text::ChatMediaData& media : parsed.media) {
        auto& list = media.kind == ChatContentPart::Kind::Image ? request.images : request.audio;
        list.push_back(decode_base64(media.base64, media.param));
      }
      request.messages.push_back(std::move(parsed.message));
    }
    parse_tool_fields(j, request);
  });
}

CompletionRequest parse_completion_request(std::string_view body) {
  return parse_request(body, Endpoint::Completions, [](const RequestJson& j, CompletionRequest& request) {
    const RequestJson* prompt = find_field(j, "prompt");
    if (!prompt) throw bad_request("'prompt' is required", "prompt", "missing_field");
    if (!prompt->is_string()) throw wrong_type("prompt", "a string (batched prompts are not supported)", *prompt);
    request.prompt = prompt->get<std::string>();
    if (request.prompt.empty()) throw bad_request("'prompt' must not be empty", "prompt", "invalid_value");
  });
}

std::string prompt_text(const CompletionRequest& request, std::string_view bos_token) {
  ChatTemplateOptions options;
  options.bos_token = std::string(bos_token);
  return prompt_text(request, ChatTemplate::gemma4_mainline(), options);
}

std::string prompt_text(const CompletionRequest& request, const ChatTemplate& chat_template,
                        const ChatTemplateOptions& template_options) {
  const std::string& bos_token = template_options.bos_token;
  if (request.endpoint == Endpoint::ChatCompletions) {
    ChatTemplateOptions options = template_options;
    options.add_generation_prompt = true;
    options.tools = request.tools;
    if (request.enable_thinking) options.enable_thinking = *request.enable_thinking;
    if (request.preserve_thinking) options.preserve_thinking = *request.preserve_thinking;
    return chat_template.render(request.messages, options);
  }
  // A completion continues the text as a document: behind <bos>, as the model was trained, unless already there.
  if (!bos_token.empty() && request.prompt.compare(0, bos_token.size(), bos_token) == 0) return request.prompt;
  return std::string(bos_token) + request.prompt;
}

GenerationConfig generation_config(const CompletionRequest& request) {
  GenerationConfig config;
  // No limit asked: run until a stop token or the context is full (CausalLM stops there).
  config.max_new_tokens = request.max_tokens.value_or(std::numeric_limits<int64_t>::max());
  config.sampling = request.sampling;
  if (request.endpoint == Endpoint::Completions) config.stop_strings = request.stop;
  return config;
}

std::string finish_reason(const std::string& stop_reason) {
  return stop_reason == "max_tokens" || stop_reason == "context_full" || stop_reason == "timeout" ? "length" : "stop";
}

std::string response_id(Endpoint endpoint, std::string_view suffix) {
  return (endpoint == Endpoint::ChatCompletions ? "chatcmpl-" : "cmpl-") + std::string(suffix);
}

std::string render_completion(const ResponseInfo& info, const std::string& text, const std::string& finish,
                              const Usage& usage) {
  return render_completion_choices(info, {{text, finish, nullptr}}, usage);
}

std::string render_completion_choices(const ResponseInfo& info, const std::vector<CompletionChoice>& choices,
                                      const Usage& usage) {
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    Json choice = {{"index", i}, {"finish_reason", choices[i].finish}, {"logprobs", logprobs_json(info, choices[i].logprobs)}};
    if (is_chat(info)) {
      choice["message"] = {{"role", "assistant"}, {"content", choices[i].text}};
    } else {
      choice["text"] = choices[i].text;
    }
    list.push_back(std::move(choice));
  }
  Json body = {{"id", info.id},
               {"object", is_chat(info) ? "chat.completion" : "text_completion"},
               {"created", info.created},
               {"model", info.model},
               {"choices", std::move(list)},
               {"usage", usage_json(usage)}};
  return dump(body);
}

std::string render_chat_completion(const ResponseInfo& info, const ChatReply& reply, const std::string& finish,
                                   const Usage& usage) {
  return render_chat_completion_choices(info, {{&reply, finish, nullptr}}, usage);
}

std::string render_chat_completion_choices(const ResponseInfo& info, const std::vector<ChatChoice>& choices,
                                           const Usage& usage) {
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChatReply& reply = *choices[i].reply;
    Json message = {{"role", "assistant"},
                    {"content", reply.content.empty() && !reply.tool_calls.empty() ? Json() : Json(reply.content)}};
    if (!reply.reasoning.empty()) message["reasoning_content"] = reply.reasoning;
    if (!reply.tool_calls.empty()) {
      Json calls = Json::array();
      for (const ParsedToolCall& call : reply.tool_calls) {
        calls.push_back({{"id", call.id},
                         {"type", "function"},
                         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
    list.push_back({{"index", i},
                    {"message", std::move(message)},
                    {"finish_reason", choices[i].finish},
                    {"logprobs", logprobs_json(info, choices[i].logprobs)}});
  }
  Json body = {{"id", info.id},
               {"object", "chat.completion"},
               {"created", info.created},
               {"model", info.model},
               {"choices", std::move(list)},
               {"usage", usage_json(usage)}};
  return dump(body);
}

std::string render_stream_delta(const ResponseInfo& info, const OutputDelta& delta, int index,
                                const std::vector<TokenLogprobEntry>* logprobs) {
  auto chunk = [&](Json delta_json) {
    Json choice = {{"index", index}, {"delta", std::move(delta_json)}, {"finish_reason", nullptr},
                   {"logprobs", logprobs_json(info, logprobs)}};
    logprobs = nullptr;  // the delta's tokens go with its first chunk
    return event(chunk_json(info, Json::array({std::move(choice)})));
  };
  std::string events;
  if (!delta.reasoning.empty()) events += chunk({{"reasoning_content", delta.reasoning}});
  if (!delta.content.empty()) events += chunk({{"content", delta.content}});
  for (const ParsedToolCall& call : delta.tool_calls) {
    const Json head = {{"index", call.index},
                       {"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", ""}}}};
    events += chunk({{"tool_calls", Json::array({head})}});
    const Json arguments = {{"index", call.index}, {"function", {{"arguments", call.arguments}}}};
    events += chunk({{"tool_calls", Json::array({arguments})}});
  }
  return events;
}

std::string render_stream_start(const ResponseInfo& info, int index) {
  if (!is_chat(info)) return {};
  Json choice = {{"index", index}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"finish_reason", nullptr},
                 {"logprobs", nullptr}};
  return event(chunk_json(info, Json::array({choice})));
}

std::string render_stream_text(const ResponseInfo& info, const std::string& text, int index,
                               const std::vector<TokenLogprobEntry>* logprobs) {
  Json choice = {{"index", index}, {"finish_reason", nullptr}, {"logprobs", logprobs_json(info, logprobs)}};
  if (is_chat(info)) {
    choice["delta"] = {{"content", text}};
  } else {
    choice["text"] = text;
  }
  return event(chunk_json(info, Json::array({choice})));
}

std::string render_stream_finish(const ResponseInfo& info, const std::string& finish, int index,
                                 const std::vector<TokenLogprobEntry>* logprobs) {
  Json choice = {{"index", index}, {"finish_reason", finish}, {"logprobs", logprobs_json(info, logprobs)}};
  if (is_chat(info)) {
    choice["delta"] = Json::object();
  } else {
    choice["text"] = "";
  }
  return event(chunk_json(info, Json::array({choice})));
}

std::string render_stream_usage(const ResponseInfo& info, const Usage& usage) {
  Json chunk = chunk_json(info, Json::array());
  chunk["usage"] = usage_json(usage);
  return event(chunk);
}

std::string render_stream_error(const ApiError& error) { return "data: " + render_error(error) + "\n\n"; }

std::string render_stream_done() { return "data: [DONE]\n\n"; }

std::string render_models(const std::string& model_id, int64_t created) {
  Json model = {{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "gemma4.cpp"}};
  return dump(Json{{"object", "list"}, {"data", Json::array({model})}});
}

std::string render_health() { return dump(Json{{"status", "ok"}}); }

std::string model_id_from_path(std::string_view model_path) {
  while (model_path.size() > 1 && model_path.back() == '/') model_path.remove_suffix(1);
  const size_t slash = model_path.rfind('/');
  if (slash != std::string_view::npos && slash + 1 < model_path.size()) model_path.remove_prefix(slash + 1);
  return std::string(model_path);
}

}  // namespace gemma4::serve
