// The OpenAI wire format of `gemma4 serve`: request parsing (every refusal names its field), routing, and the
// shapes of responses and stream chunks as OpenAI documents them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <gemma4/chat_template.h>

#include <string>

#include <gemma4/openai.h>

namespace gemma4::serve {
namespace {

using Json = nlohmann::json;

// The ApiError a chat request body is refused with (fails the test if it is accepted).
ApiError chat_error(const std::string& body) {
  try {
    parse_chat_completion_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

ApiError completion_error(const std::string& body) {
  try {
    parse_completion_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

const std::string kHello = R"("messages": [{"role": "user", "content": "Hi"}])";

std::string chat_with(const std::string& fields) { return "{" + kHello + (fields.empty() ? "" : ", " + fields) + "}"; }

TEST(OpenAiRequest, ChatWithEveryField) {
  const auto r = parse_chat_completion_request(R"({
    "model": "gemma-4", "stream": true, "stream_options": {"include_usage": true},
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                 {"role": "assistant", "content": null},
                 {"role": "user", "content": "Again"}],
    "max_tokens": 8, "temperature": 0.5, "top_p": 0.9, "top_k": 10, "min_p": 0.05,
    "repetition_penalty": 1.1, "frequency_penalty": 0, "seed": 42, "stop": ["\n\n", "END"], "n": 1,
    "user": "ignored", "logprobs": false, "tools": []})");
  EXPECT_EQ(r.endpoint, Endpoint::ChatCompletions);
  EXPECT_EQ(r.model, "gemma-4");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "Be brief.");
  ASSERT_EQ(r.messages[1].parts.size(), 2u);
  EXPECT_EQ(r.messages[1].parts[1].text, "there");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(r.max_tokens, 8);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 10);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);

  const GenerationConfig config = generation_config(r);
  EXPECT_EQ(config.max_new_tokens, 8);
  // A chat reply's stop strings are matched by ChatReplyBuilder in the text with its markup, not by CausalLM.
  EXPECT_TRUE(config.stop_strings.empty());
  EXPECT_FLOAT_EQ(config.sampling.temperature, 0.5f);
}

TEST(OpenAiRequest, DefaultsAreTheInstructModelsSampling) {
  const auto r = parse_chat_completion_request(chat_with(""));
  const SamplingConfig expected = SamplingConfig::instruct_default();
  EXPECT_EQ(r.sampling.temperature, expected.temperature);
  EXPECT_EQ(r.sampling.top_k, expected.top_k);
  EXPECT_EQ(r.sampling.top_p, expected.top_p);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.seed_given);
  EXPECT_FALSE(r.stream);
  EXPECT_GT(generation_config(r).max_new_tokens, int64_t{1} << 40);  // no limit but the context
  // null means "not given", as in OpenAI's API.
  const auto nulls = parse_chat_completion_request(chat_with(R"("temperature": null, "stop": null, "seed": null)"));
  EXPECT_EQ(nulls.sampling.temperature, expected.temperature);
  EXPECT_TRUE(nulls.stop.empty());
  EXPECT_FALSE(nulls.seed_given);
}

TEST(OpenAiRequest, SingleStopStringAndNewerMaxTokensName) {
  const auto r = parse_chat_completion_request(chat_with(R"("stop": "###", "max_completion_tokens": 3, "max_tokens": 9)"));
  EXPECT_EQ(r.stop, std::vector<std::string>{"###"});
  EXPECT_EQ(r.max_tokens, 3);
  EXPECT_EQ(parse_chat_completion_request(chat_with(R"("seed": -1)")).sampling.seed, UINT64_MAX);
}

TEST(OpenAiRequest, MalformedJsonSaysWhere) {
  const ApiError e = chat_error(R"({"messages": [}")");
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.code(), "invalid_json");
  EXPECT_NE(std::string(e.what()).find("byte 15"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("column 15"), std::string::npos) << e.what();
  EXPECT_EQ(chat_error("").status(), 400);
  EXPECT_EQ(chat_error("[1, 2]").code(), "invalid_json");  // not an object
  EXPECT_EQ(chat_error("{\"messages\": \"\xff\"}").code(), "invalid_json");  // not UTF-8
}

TEST(OpenAiRequest, MissingAndIllTypedFieldsAreNamed) {
  struct Case {
    std::string body;
    std::string param;
  };
  const Case cases[] = {
      {R"({})", "messages"},
      {R"({"messages": null})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({"messages": {"role": "user"}})", "messages"},
      {R"({"messages": ["Hi"]})", "messages[0]"},
      {R"({"messages": [{"content": "Hi"}]})", "messages[0].role"},
      {R"({"messages": [{"role": 3, "content": "Hi"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "robot", "content": "Hi"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": 7}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"text": "x"}]}]})", "messages[0].content[0].type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})", "messages[0].content[0].text"},
      {R"({"messages": [{"role": "user", "content": ["x"]}]})", "messages[0].content[0]"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "image_url",
          "image_url": {"url": "x"}}]}]})", "messages[1].content[0].image_url.url"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url",
          "image_url": {"url": "https://example.com/cat.png"}}]}]})", "messages[0].content[0].image_url.url"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url",
          "image_url": {"url": "data:image/png;base64,@@@"}}]}]})", "messages[0].content[0].image_url.url"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0].image_url"},
      {R"({"messages": [{"role": "user", "content": [{"type": "input_audio",
          "input_audio": {"data": "AAAA", "format": "mp3"}}]}]})", "messages[0].content[0].input_audio.format"},
      {R"({"messages": [{"role": "user", "content": [{"type": "video_url"}]}]})", "messages[0].content[0].type"},
      {chat_with(R"("model": 4)"), "model"},
      {chat_with(R"("max_tokens": "8")"), "max_tokens"},
      {chat_with(R"("max_tokens": 8.5)"), "max_tokens"},
      {chat_with(R"("max_tokens": 0)"), "max_tokens"},
      {chat_with(R"("max_completion_tokens": -3)"), "max_completion_tokens"},
      {chat_with(R"("max_tokens": 18446744073709551615)"), "max_tokens"},
      {chat_with(R"("temperature": "hot")"), "temperature"},
      {chat_with(R"("temperature": -1)"), "temperature"},
      {chat_with(R"("top_p": 0)"), "top_p"},
      {chat_with(R"("top_p": 1.5)"), "top_p"},
      {chat_with(R"("top_k": -1)"), "top_k"},
      {chat_with(R"("top_k": 2.5)"), "top_k"},
      {chat_with(R"("min_p": 2)"), "min_p"},
      {chat_with(R"("repetition_penalty": 0)"), "repetition_penalty"},
      {chat_with(R"("frequency_penalty": 0.5)"), "frequency_penalty"},
      {chat_with(R"("presence_penalty": "no")"), "presence_penalty"},
      {chat_with(R"("seed": 1.5)"), "seed"},
      {chat_with(R"("stop": 5)"), "stop"},
      {chat_with(R"("stop": ["a", 5])"), "stop[1]"},
      {chat_with(R"("stop": "")"), "stop"},
      {chat_with(R"("stream": "yes")"), "stream"},
      {chat_with(R"("stream_options": true)"), "stream_options"},
      {chat_with(R"("stream_options": {"include_usage": 1})"), "stream_options.include_usage"},
      {chat_with(R"("n": 0)"), "n"},
      {chat_with(R"("n": 17)"), "n"},
      {chat_with(R"("logprobs": 1)"), "logprobs"},
      {chat_with(R"("logprobs": true, "top_logprobs": 21)"), "top_logprobs"},
      {chat_with(R"("top_logprobs": 2)"), "top_logprobs"},
      {chat_with(R"("tools": [{"type": "function"}])"), "tools[0].function"},
  };
  for (const Case& c : cases) {
    const ApiError e = chat_error(c.body);
    EXPECT_EQ(e.status(), 400) << c.body;
    EXPECT_EQ(e.param(), c.param) << c.body << " -> " << e.what();
    // The message names the field too (a person reads it, not only a program).
    EXPECT_NE(std::string(e.what()).find(c.param), std::string::npos) << e.what();
  }
}

TEST(OpenAiRequest, ChoicesAndLogprobs) {
  auto chat = parse_chat_completion_request(R"({"messages": [{"role": "user", "content": "hi"}], "n": 3,
      "logprobs": true, "top_logprobs": 4})");
  EXPECT_EQ(chat.n, 3);
  EXPECT_EQ(chat.top_logprobs, 4);
  chat = parse_chat_completion_request(R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": false})");
  EXPECT_EQ(chat.top_logprobs, -1);
  auto completion = parse_completion_request(R"({"prompt": "a", "logprobs": 2})");
  EXPECT_EQ(completion.top_logprobs, 2);
  EXPECT_EQ(completion_error(R"({"prompt": "a", "logprobs": 6})").param(), "logprobs");
}

TEST(OpenAiResponse, LogprobsShapes) {
  ResponseInfo info{Endpoint::ChatCompletions, "chatcmpl-1", 5, "m"};
  const std::vector<TokenLogprobEntry> entries = {{"Hi", -0.5f, {{"Hi", -0.5f}, {"Yo", -1.25f}}}};
  const auto chat = nlohmann::json::parse(render_stream_text(info, "Hi", 1, &entries).substr(6));
  EXPECT_EQ(chat["choices"][0]["index"], 1);
  const auto& content = chat["choices"][0]["logprobs"]["content"][0];
  EXPECT_EQ(content["token"], "Hi");
  EXPECT_EQ(content["logprob"], -0.5);
  EXPECT_EQ(content["bytes"], nlohmann::json::array({72, 105}));
  EXPECT_EQ(content["top_logprobs"][1]["token"], "Yo");
  EXPECT_EQ(content["top_logprobs"][1]["logprob"], -1.25);
  info.endpoint = Endpoint::Completions;
  const std::vector<CompletionChoice> choices = {{"Hi", "stop", &entries}, {"Yo", "length", nullptr}};
  const auto whole = nlohmann::json::parse(render_completion_choices(info, choices, {3, 2}));
  EXPECT_EQ(whole["choices"][1]["index"], 1);
  EXPECT_TRUE(whole["choices"][1]["logprobs"].is_null());
  EXPECT_EQ(whole["choices"][0]["logprobs"]["tokens"][0], "Hi");
  EXPECT_EQ(whole["choices"][0]["logprobs"]["token_logprobs"][0], -0.5);
  EXPECT_EQ(whole["choices"][0]["logprobs"]["top_logprobs"][0]["Yo"], -1.25);
  EXPECT_EQ(whole["choices"][0]["logprobs"]["text_offset"][0], 0);
}

TEST(OpenAiRequest, Completion) {
  const auto r = parse_completion_request(R"({"prompt": "Once upon", "max_tokens": 5, "temperature": 0})");
  EXPECT_EQ(r.endpoint, Endpoint::Completions);
  EXPECT_EQ(r.prompt, "Once upon");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(completion_error(R"({})").param(), "prompt");
  EXPECT_EQ(completion_error(R"({"prompt": ["a", "b"]})").param(), "prompt");
  EXPECT_EQ(completion_error(R"({"prompt": ""})").param(), "prompt");
  EXPECT_EQ(completion_error(R"({"prompt": "x", "top_p": -0.5})").param(), "top_p");
}

TEST(OpenAiRequest, PromptText) {
  const auto chat = parse_chat_completion_request(chat_with(""));
  ChatTemplateOptions options;
  options.add_generation_prompt = true;
  EXPECT_EQ(prompt_text(chat), apply_chat_template({{"user", "Hi"}}, options));
  EXPECT_EQ(prompt_text(chat), "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");

  const auto completion = parse_completion_request(R"({"prompt": "Once"})");
  EXPECT_EQ(prompt_text(completion), "<bos>Once");
  EXPECT_EQ(prompt_text(parse_completion_request(R"({"prompt": "<bos>Once"})")), "<bos>Once");  // not twice
  EXPECT_EQ(prompt_text(completion, ""), "Once");  // a vocabulary without <bos>
}

TEST(OpenAiRoute, EndpointsMethodsAndUnknownPaths) {
  EXPECT_EQ(route_request("POST", "/v1/chat/completions"), Endpoint::ChatCompletions);
  EXPECT_EQ(route_request("POST", "/v1/completions"), Endpoint::Completions);
  EXPECT_EQ(route_request("GET", "/v1/models"), Endpoint::Models);
  EXPECT_EQ(route_request("GET", "/health"), Endpoint::Health);
  EXPECT_EQ(route_request("HEAD", "/health"), Endpoint::Health);
  EXPECT_EQ(route_request("POST", "/v1/embeddings"), Endpoint::Embeddings);
  EXPECT_EQ(route_request("GET", "/metrics"), Endpoint::Metrics);
  auto status = [](const char* method, const char* path) {
    try {
      route_request(method, path);
    } catch (const ApiError& e) {
      return e.status();
    }
    return 200;
  };
  EXPECT_EQ(status("GET", "/v1/chat/completions"), 405);
  EXPECT_EQ(status("POST", "/health"), 405);
  EXPECT_EQ(status("DELETE", "/v1/models"), 405);
  EXPECT_EQ(status("GET", "/"), 404);
  EXPECT_EQ(status("POST", "/v1/chat/completions/"), 404);
  EXPECT_EQ(status("GET", "/v1/embeddings"), 405);
  EXPECT_EQ(status("POST", "/metrics"), 405);
  EXPECT_EQ(status("GET", "/v1/embedding"), 404);
}

TEST(OpenAiResponse, FinishReason) {
  EXPECT_EQ(finish_reason("stop_token"), "stop");
  EXPECT_EQ(finish_reason("stop_string"), "stop");
  EXPECT_EQ(finish_reason("max_tokens"), "length");
  EXPECT_EQ(finish_reason("context_full"), "length");
}

TEST(OpenAiResponse, ChatCompletionShape) {
  const ResponseInfo info{Endpoint::ChatCompletions, response_id(Endpoint::ChatCompletions, "abc"), 1700000000, "m"};
  const Json j = Json::parse(render_completion(info, "Hello \"you\"\n", "length", {12, 8}));
  EXPECT_EQ(j["id"], "chatcmpl-abc");
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "m");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello \"you\"\n");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"], Json::parse(R"({"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20})"));
}

TEST(OpenAiResponse, TextCompletionShape) {
  const ResponseInfo info{Endpoint::Completions, response_id(Endpoint::Completions, "x"), 5, "m"};
  const Json j = Json::parse(render_completion(info, "text", "stop", {1, 2}));
  EXPECT_EQ(j["id"], "cmpl-x");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "text");
  EXPECT_FALSE(j["choices"][0].contains("message"));
  EXPECT_EQ(j["usage"]["total_tokens"], 3);
}

TEST(OpenAiResponse, InvalidUtf8NeverThrows) {
  const ResponseInfo info{Endpoint::ChatCompletions, "chatcmpl-1", 0, "m"};
  const Json j = Json::parse(render_completion(info, "a\xff" "b", "stop", {}));
  EXPECT_EQ(j["choices"][0]["message"]["content"], "a\xEF\xBF\xBD" "b");  // U+FFFD
}

TEST(OpenAiResponse, ErrorObject) {
  const Json j = Json::parse(render_error(ApiError(400, "'top_p' must be in (0, 1]", "top_p", "invalid_value")));
  EXPECT_EQ(j, Json::parse(R"({"error": {"message": "'top_p' must be in (0, 1]", "type": "invalid_request_error",
                                         "param": "top_p", "code": "invalid_value"}})"));
  const Json bare = Json::parse(render_error(ApiError(404, "no such endpoint")));
  EXPECT_EQ(bare["error"]["type"], "not_found_error");
  EXPECT_TRUE(bare["error"]["param"].is_null());
  EXPECT_TRUE(bare["error"]["code"].is_null());
  EXPECT_EQ(error_type(413), "request_too_large_error");
  EXPECT_EQ(error_type(500), "server_error");
}

TEST(OpenAiResponse, ModelsAndHealth) {
  const Json models = Json::parse(render_models("gemma-4-e2b", 7));
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "gemma-4-e2b");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(Json::parse(render_health())["status"], "ok");
  EXPECT_EQ(model_id_from_path("/models/gemma-4-e2b-it/"), "gemma-4-e2b-it");
  EXPECT_EQ(model_id_from_path("dir/model.gguf"), "model.gguf");
  EXPECT_EQ(model_id_from_path("builtin:tiny"), "builtin:tiny");
}

// "data: {json}\n\n" -> the json.
Json event_json(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_GE(event.size(), 8u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n") << event;
  return Json::parse(event.substr(6, event.size() - 8));
}

TEST(OpenAiStream, ChatChunks) {
  const ResponseInfo info{Endpoint::ChatCompletions, "chatcmpl-s", 9, "m"};
  const Json start = event_json(render_stream_start(info));
  EXPECT_EQ(start["object"], "chat.completion.chunk");
  EXPECT_EQ(start["id"], "chatcmpl-s");
  EXPECT_EQ(start["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(start["choices"][0]["finish_reason"].is_null());

  const Json text = event_json(render_stream_text(info, "Hel"));
  EXPECT_EQ(text["choices"][0]["delta"], Json::parse(R"({"content": "Hel"})"));
  EXPECT_TRUE(text["choices"][0]["finish_reason"].is_null());

  const Json finish = event_json(render_stream_finish(info, "stop"));
  EXPECT_EQ(finish["choices"][0]["delta"], Json::object());
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "stop");

  const Json usage = event_json(render_stream_usage(info, {3, 4}));
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);

  EXPECT_EQ(render_stream_done(), "data: [DONE]\n\n");
  const Json error = event_json(render_stream_error(ApiError(400, "bad")));
  EXPECT_EQ(error["error"]["message"], "bad");
}

TEST(OpenAiStream, CompletionChunks) {
  const ResponseInfo info{Endpoint::Completions, "cmpl-s", 9, "m"};
  EXPECT_EQ(render_stream_start(info), "");  // no role to announce
  const Json text = event_json(render_stream_text(info, " upon"));
  EXPECT_EQ(text["object"], "text_completion");
  EXPECT_EQ(text["choices"][0]["text"], " upon");
  EXPECT_EQ(event_json(render_stream_finish(info, "length"))["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiRequest, ImageAndAudioPartsAreDecoded) {
  EXPECT_EQ(decode_base64("TWFu", "x"), "Man");
  EXPECT_EQ(decode_base64("aGVs\nbG8=", "x"), "hello");  // padding and line breaks as MIME writes them
  EXPECT_THROW(decode_base64("a$b", "x"), ApiError);
  const CompletionRequest r = parse_chat_completion_request(R"({"messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,TWFu"}},
      {"type": "input_audio", "input_audio": {"data": "aGVsbG8=", "format": "wav"}},
      {"type": "text", "text": "What is this?"}]}]})");
  ASSERT_EQ(r.images.size(), 1u);
  EXPECT_EQ(r.images[0], "Man");
  ASSERT_EQ(r.audio.size(), 1u);
  EXPECT_EQ(r.audio[0], "hello");
  ASSERT_EQ(r.messages[0].parts.size(), 3u);
  EXPECT_EQ(r.messages[0].parts[0].kind, ChatContentPart::Kind::Image);
  EXPECT_EQ(r.messages[0].parts[1].kind, ChatContentPart::Kind::Audio);
  // The chat template writes one placeholder per item, where the parts were.
  const std::string prompt = prompt_text(r);
  EXPECT_NE(prompt.find("<|image|><|audio|>What is this?"), std::string::npos) << prompt;
}

}  // namespace
}  // namespace gemma4::serve
