// Tools and thinking through the OpenAI wire format of `gemma4 serve`: the request fields (tools, tool_choice,
// parallel_tool_calls, chat_template_kwargs) and what a model's reply text becomes, whole (message.content,
// reasoning_content, tool_calls, finish_reason) and streamed (the chunks OpenAI's clients assemble). The
// expected replies are written by hand from the Gemma 4 markup (gemma4/output_parser.h); the streamed ones must
// add up to the whole one however the text is split, with no markup in any delta.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <gemma4/chat_template.h>
#include <gemma4/openai.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "loading/test_tokenizer.h"

namespace gemma4::serve {
namespace {

using Json = nlohmann::json;

const std::string kHello = R"("messages": [{"role": "user", "content": "Weather in Paris?"}])";
const std::string kWeatherTool =
    R"({"type": "function", "function": {"name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})";

std::string chat_with(const std::string& fields) { return "{" + kHello + (fields.empty() ? "" : ", " + fields) + "}"; }

ApiError chat_error(const std::string& body) {
  try {
    parse_chat_completion_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

// ---- Requests ----

TEST(OpenAiToolsRequest, ToolsAreKeptAsSentInOrder) {
  const auto r = parse_chat_completion_request(chat_with(
      R"("tools": [)" + kWeatherTool + R"(, {"type": "function", "function": {"name": "ns.lookup:v2/x"}}],
         "tool_choice": "auto", "parallel_tool_calls": false)"));
  ASSERT_EQ(r.tools.size(), 2u);
  // Key order as sent (the template renders the declaration in that order).
  EXPECT_EQ(r.tools[0], R"({"type":"function","function":{"name":"get_weather","description":"Current weather",)"
                        R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})");
  EXPECT_EQ(Json::parse(r.tools[1])["function"]["name"], "ns.lookup:v2/x");
  EXPECT_FALSE(r.parallel_tool_calls);
  EXPECT_FALSE(r.enable_thinking.has_value());

  const auto defaults = parse_chat_completion_request(chat_with(""));
  EXPECT_TRUE(defaults.tools.empty());
  EXPECT_TRUE(defaults.parallel_tool_calls);
}

TEST(OpenAiToolsRequest, ToolChoiceNoneDropsTheTools) {
  const auto r = parse_chat_completion_request(chat_with(R"("tools": [)" + kWeatherTool + R"(], "tool_choice": "none")"));
  EXPECT_TRUE(r.tools.empty());
  // "auto" / "none" without tools are harmless.
  EXPECT_NO_THROW(parse_chat_completion_request(chat_with(R"("tool_choice": "auto")")));
  EXPECT_NO_THROW(parse_chat_completion_request(chat_with(R"("tool_choice": "none", "tools": [])")));
}

TEST(OpenAiToolsRequest, ChatTemplateKwargs) {
  const auto r = parse_chat_completion_request(
      chat_with(R"("chat_template_kwargs": {"enable_thinking": true, "preserve_thinking": false, "other": 1},
                   "reasoning_effort": "high")"));
  EXPECT_EQ(r.enable_thinking, true);
  EXPECT_EQ(r.preserve_thinking, false);
}

TEST(OpenAiToolsRequest, BadFieldsAreNamed) {
  struct Case {
    std::string fields;
    std::string param;
    std::string code;
  };
  const Case cases[] = {
      {R"("tools": {})", "tools", "invalid_type"},
      {R"("tools": ["get_weather"])", "tools[0]", "invalid_type"},
      {R"("tools": [{"function": {"name": "f"}}])", "tools[0].type", "missing_field"},
      {R"("tools": [{"type": "custom", "custom": {"name": "f"}}])", "tools[0].type", "unsupported_value"},
      {R"("tools": [{"type": "function"}])", "tools[0].function", "missing_field"},
      {R"("tools": [{"type": "function", "function": "f"}])", "tools[0].function", "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"description": "x"}}])", "tools[0].function.name",
       "missing_field"},
      {R"("tools": [{"type": "function", "function": {"name": 5}}])", "tools[0].function.name", "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"name": ""}}])", "tools[0].function.name", "invalid_value"},
      {R"("tools": [{"type": "function", "function": {"name": "get weather"}}])", "tools[0].function.name",
       "invalid_value"},
      {R"("tools": [{"type": "function", "function": {"name": "f{x}"}}])", "tools[0].function.name", "invalid_value"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "description": 3}}])",
       "tools[0].function.description", "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "parameters": "object"}}])",
       "tools[0].function.parameters", "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "strict": "yes"}}])", "tools[0].function.strict",
       "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}])",
       "tools[1].function.name", "invalid_value"},
      {R"("tool_choice": "required")", "tool_choice", "unsupported_value"},
      {R"("tool_choice": {"type": "function", "function": {"name": "get_weather"}})", "tool_choice",
       "unsupported_value"},
      {R"("tool_choice": "sometimes")", "tool_choice", "invalid_value"},
      {R"("tool_choice": {"type": "function"})", "tool_choice", "invalid_value"},
      {R"("tool_choice": 1)", "tool_choice", "invalid_type"},
      {R"("parallel_tool_calls": "yes")", "parallel_tool_calls", "invalid_type"},
      {R"("chat_template_kwargs": true)", "chat_template_kwargs", "invalid_type"},
      {R"("chat_template_kwargs": {"enable_thinking": "on"})", "chat_template_kwargs.enable_thinking", "invalid_type"},
      {R"("chat_template_kwargs": {"preserve_thinking": 1})", "chat_template_kwargs.preserve_thinking",
       "invalid_type"},
  };
  for (const Case& c : cases) {
    const ApiError e = chat_error(chat_with(c.fields));
    EXPECT_EQ(e.status(), 400) << c.fields;
    EXPECT_EQ(e.param(), c.param) << c.fields << " -> " << e.what();
    EXPECT_EQ(e.code(), c.code) << c.fields << " -> " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.param), std::string::npos) << e.what();
  }
  // Completions have no template to declare tools in.
  try {
    parse_completion_request(R"({"prompt": "x", "tools": [)" + kWeatherTool + "]}");
    ADD_FAILURE() << "completion with tools accepted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.param(), "tools");
  }
}

TEST(OpenAiToolsRequest, PromptCarriesToolsAndThinking) {
  const ChatTemplate& chat_template = ChatTemplate::gemma4_mainline();
  const ChatTemplateOptions server_options;
  const auto with_tools = parse_chat_completion_request(chat_with(R"("tools": [)" + kWeatherTool + "]"));
  // The same conversation as `gemma4 tokenize --chat` reads it (parse_chat_request_json): the same prompt.
  const ChatRequest as_file = parse_chat_request_json(chat_with(R"("tools": [)" + kWeatherTool + "]"));
  const std::string prompt = prompt_text(with_tools, chat_template, server_options);
  EXPECT_EQ(prompt, chat_template.render(as_file.messages, as_file.options));
  EXPECT_NE(prompt.find("get_weather"), std::string::npos);
  EXPECT_NE(prompt.find("Current weather"), std::string::npos);

  const auto none = parse_chat_completion_request(chat_with(R"("tools": [)" + kWeatherTool + R"(], "tool_choice": "none")"));
  const auto plain = parse_chat_completion_request(chat_with(""));
  EXPECT_EQ(prompt_text(none, chat_template, server_options), prompt_text(plain, chat_template, server_options));
  EXPECT_NE(prompt_text(none, chat_template, server_options), prompt);

  // Thinking on: "<|think|>" opens the system turn and no empty thought channel follows the generation prompt
  // (the expected text is Python jinja2's rendering of Google's mainline template).
  const auto thinking = parse_chat_completion_request(chat_with(R"("chat_template_kwargs": {"enable_thinking": true})"));
  const std::string thinking_prompt = prompt_text(thinking, chat_template, server_options);
  EXPECT_EQ(thinking_prompt, "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n");
  // The request overrides the server's default, both ways.
  ChatTemplateOptions thinking_default;
  thinking_default.enable_thinking = true;
  EXPECT_EQ(prompt_text(plain, chat_template, thinking_default), thinking_prompt);
  const auto off = parse_chat_completion_request(chat_with(R"("chat_template_kwargs": {"enable_thinking": false})"));
  EXPECT_EQ(prompt_text(off, chat_template, thinking_default), prompt_text(plain, chat_template, server_options));
}

// ---- Replies ----

struct ReplyCase {
  std::string name;
  std::string text;                  // what the model wrote (special tokens as text)
  std::string stop_reason = "stop_token";
  ChatReplyOptions options;
  Json message;                      // the expected message object
  std::string finish;
  bool markup_in_content = false;    // a malformed call: its raw text is content (the parser's policy)
};

ChatReplyOptions options_with(std::vector<std::string> stop = {}, bool parallel = true, bool in_thought = false) {
  ChatReplyOptions options;
  options.stop = std::move(stop);
  options.parallel_tool_calls = parallel;
  options.in_thought_channel = in_thought;
  options.call_id_prefix = "r1";
  return options;
}

Json call_json(const std::string& id, const std::string& name, const std::string& arguments) {
  return {{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
}

std::vector<ReplyCase> reply_cases() {
  const std::string weather = R"(<|tool_call>call:get_weather{city:<|"|>Paris, "FR"<|"|>,days:3}<tool_call|>)";
  const std::string time = R"(<|tool_call>call:get_time{zone:<|"|>CET<|"|>,exact:true,hint:None}<tool_call|>)";
  const std::string weather_args = R"({"city":"Paris, \"FR\"","days":3})";
  const std::string time_args = R"({"exact":true,"hint":null,"zone":"CET"})";
  std::vector<ReplyCase> cases;
  cases.push_back({"plain", "Hello there.\n", "stop_token", options_with(),
                   {{"role", "assistant"}, {"content", "Hello there."}}, "stop"});
  cases.push_back({"thinking", "<|channel>thought\nThe user greets me.\n<channel|>Hi! 😀", "stop_token", options_with(),
                   {{"role", "assistant"}, {"content", "Hi! 😀"}, {"reasoning_content", "The user greets me."}},
                   "stop"});
  cases.push_back({"one call", weather, "stop_token", options_with(),
                   {{"role", "assistant"}, {"content", nullptr},
                    {"tool_calls", {call_json("call_r1_0", "get_weather", weather_args)}}},
                   "tool_calls"});
  cases.push_back({"thinking, text and two calls",
                   "<|channel>thought\nNeed both.<channel|>Checking. " + weather + time + "<|tool_response>", "callback",
                   options_with(),
                   {{"role", "assistant"}, {"content", "Checking."}, {"reasoning_content", "Need both."},
                    {"tool_calls", {call_json("call_r1_0", "get_weather", weather_args),
                                    call_json("call_r1_1", "get_time", time_args)}}},
                   "tool_calls"});
  cases.push_back({"without parallel calls the reply ends after the first", weather + time + "more", "callback",
                   options_with({}, false),
                   {{"role", "assistant"}, {"content", nullptr},
                    {"tool_calls", {call_json("call_r1_0", "get_weather", weather_args)}}},
                   "tool_calls"});
  cases.push_back({"malformed call stays content", "Try <|tool_call>call:f{a:}<tool_call|>", "stop_token",
                   options_with(), {{"role", "assistant"}, {"content", "Try <|tool_call>call:f{a:}<tool_call|>"}},
                   "stop", true});
  cases.push_back({"a call cut by the token limit", "Let me look. <|tool_call>call:get_weather{city:<|\"|>Pa",
                   "max_tokens", options_with(),
                   {{"role", "assistant"}, {"content", "Let me look. <|tool_call>call:get_weather{city:<|\"|>Pa"}},
                   "length", true});
  cases.push_back({"stop string in the answer", "One, two, END three", "callback", options_with({"END", "zzz"}),
                   {{"role", "assistant"}, {"content", "One, two,"}}, "stop"});
  cases.push_back({"stop string inside the thinking", "<|channel>thought\nabc STOP def<channel|>x", "callback",
                   options_with({"STOP"}), {{"role", "assistant"}, {"content", ""}, {"reasoning_content", "abc"}},
                   "stop"});
  cases.push_back({"stop strings do not count inside a call", "A" + weather + "B, C", "callback",
                   options_with({",", "<tool_call|>"}),
                   {{"role", "assistant"}, {"content", "AB"},
                    {"tool_calls", {call_json("call_r1_0", "get_weather", weather_args)}}},
                   "tool_calls"});
  cases.push_back({"a stop string before a call", "A, " + weather, "callback", options_with({","}),
                   {{"role", "assistant"}, {"content", "A"}}, "stop"});
  cases.push_back({"a stop string's start that is not one", "a ENb EN", "stop_token", options_with({"END"}),
                   {{"role", "assistant"}, {"content", "a ENb EN"}}, "stop"});
  cases.push_back({"prompt opened the thought channel", "Should look it up.<channel|>" + weather, "stop_token",
                   options_with({}, true, true),
                   {{"role", "assistant"}, {"content", nullptr}, {"reasoning_content", "Should look it up."},
                    {"tool_calls", {call_json("call_r1_0", "get_weather", weather_args)}}},
                   "tool_calls"});
  cases.push_back({"the end marker ends the reply", "Hi.<turn|>ignored<|turn>user", "callback", options_with(),
                   {{"role", "assistant"}, {"content", "Hi."}}, "stop"});
  cases.push_back({"length without calls", "Once upon a", "max_tokens", options_with(),
                   {{"role", "assistant"}, {"content", "Once upon a"}}, "length"});
  return cases;
}

const ResponseInfo kInfo{Endpoint::ChatCompletions, "chatcmpl-r1", 1700000000, "gemma-4"};

// The whole response for `text` fed in `pieces`; `events` gets the stream chunks of the same run.
// With `last_in_finish` the last piece goes to finish(), as the server hands over the decoder's flush.
Json whole_response(const ReplyCase& c, const std::vector<std::string>& pieces, std::string* events,
                    bool* ended = nullptr, bool last_in_finish = false) {
  ChatReplyBuilder builder(c.options);
  std::string sse = render_stream_start(kInfo);
  const size_t fed = last_in_finish && !pieces.empty() ? pieces.size() - 1 : pieces.size();
  for (size_t k = 0; k < fed; ++k) {
    if (builder.ended()) break;  // the server stops generating here
    sse += render_stream_delta(kInfo, builder.feed(pieces[k]));
  }
  if (ended) *ended = builder.ended();
  sse += render_stream_delta(kInfo, builder.finish(fed < pieces.size() && !builder.ended() ? pieces.back() : ""));
  const std::string finish = builder.finish_reason(c.stop_reason);
  sse += render_stream_finish(kInfo, finish);
  if (events) *events = sse;
  return Json::parse(render_chat_completion(kInfo, builder.reply(), finish, {10, 5}));
}

bool has_markup(const std::string& text) {
  for (const char* marker : {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>", "<turn|>",
                             "<|turn>", "<|tool_response>", "thought\n"}) {
    if (text.find(marker) != std::string::npos) return true;
  }
  return false;
}

// The message a client assembles from the chunks (as the openai client's stream helpers do), with checks on
// each chunk's shape.
Json assemble(const std::string& events, const ReplyCase& c, const std::string& where, std::string* finish) {
  std::string content, reasoning;
  std::map<int, Json> calls;
  size_t pos = 0;
  int chunks = 0;
  *finish = "";
  while (pos < events.size()) {
    const size_t end = events.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << where;
    if (end == std::string::npos) break;
    const std::string event = events.substr(pos, end - pos);
    pos = end + 2;
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << where;
    const Json chunk = Json::parse(event.substr(6));
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["id"], kInfo.id);
    const Json& choice = chunk["choices"][0];
    EXPECT_TRUE(finish->empty()) << where << ": a chunk after the one with finish_reason";
    if (!choice["finish_reason"].is_null()) *finish = choice["finish_reason"].get<std::string>();
    const Json& delta = choice["delta"];
    if (chunks++ == 0) EXPECT_EQ(delta["role"], "assistant") << where;
    if (delta.contains("content")) {
      const std::string piece = delta["content"].get<std::string>();
      if (!c.markup_in_content) EXPECT_FALSE(has_markup(piece)) << where << ": " << piece;
      content += piece;
    }
    if (delta.contains("reasoning_content")) {
      const std::string piece = delta["reasoning_content"].get<std::string>();
      EXPECT_FALSE(piece.empty()) << where;
      EXPECT_FALSE(has_markup(piece)) << where << ": " << piece;
      reasoning += piece;
    }
    if (delta.contains("tool_calls")) {
      for (const Json& call : delta["tool_calls"]) {
        const int index = call["index"].get<int>();
        if (!calls.count(index)) {  // the first chunk of a call names it, with empty arguments
          EXPECT_EQ(index, static_cast<int>(calls.size())) << where;
          EXPECT_TRUE(call["id"].is_string()) << where;
          EXPECT_EQ(call["type"], "function") << where;
          EXPECT_TRUE(call["function"]["name"].is_string()) << where;
          EXPECT_EQ(call["function"]["arguments"], "") << where;
          calls[index] = {{"id", call["id"]}, {"type", "function"},
                          {"function", {{"name", call["function"]["name"]}, {"arguments", ""}}}};
        } else {
          EXPECT_FALSE(call.contains("id")) << where;
          calls[index]["function"]["arguments"] =
              calls[index]["function"]["arguments"].get<std::string>() + call["function"]["arguments"].get<std::string>();
        }
      }
    }
  }
  Json message = {{"role", "assistant"}, {"content", content.empty() && !calls.empty() ? Json() : Json(content)}};
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  if (!calls.empty()) {
    message["tool_calls"] = Json::array();
    for (auto& [index, call] : calls) message["tool_calls"].push_back(call);
  }
  return message;
}

TEST(OpenAiToolsReply, WholeResponse) {
  for (const ReplyCase& c : reply_cases()) {
    bool ended = false;
    const Json response = whole_response(c, {c.text}, nullptr, &ended);
    EXPECT_EQ(response["object"], "chat.completion");
    EXPECT_EQ(response["choices"][0]["message"], c.message) << c.name;
    EXPECT_EQ(response["choices"][0]["finish_reason"], c.finish) << c.name;
    EXPECT_EQ(response["usage"]["total_tokens"], 15);
    // Arguments are JSON text a client can parse.
    for (const Json& call : c.message.value("tool_calls", Json::array())) {
      EXPECT_NO_THROW(Json::parse(call["function"]["arguments"].get<std::string>())) << c.name;
    }
    // The server stops generating once the reply is over.
    const bool should_end = c.stop_reason == "callback";
    EXPECT_EQ(ended, should_end) << c.name;
  }
}

TEST(OpenAiToolsReply, StreamAddsUpToTheWholeResponseAtEverySplit) {
  for (const ReplyCase& c : reply_cases()) {
    std::vector<std::vector<std::string>> splits;
    std::vector<std::string> bytes;
    for (const char ch : c.text) bytes.emplace_back(1, ch);
    splits.push_back(bytes);
    for (size_t k = 0; k <= c.text.size(); ++k) splits.push_back({c.text.substr(0, k), c.text.substr(k)});
    for (size_t s = 0; s < splits.size(); ++s) {
      const std::string where = c.name + (s == 0 ? " (byte by byte)" : " (split at " + std::to_string(s - 1) + ")");
      std::string events;
      const Json response = whole_response(c, splits[s], &events, nullptr, s % 2 == 1);
      // The non-streamed answer does not depend on how the text arrived either.
      EXPECT_EQ(response["choices"][0]["message"], c.message) << where;
      std::string finish;
      EXPECT_EQ(assemble(events, c, where, &finish), c.message) << where;
      EXPECT_EQ(finish, c.finish) << where;
      if (::testing::Test::HasFailure()) return;  // one broken split is enough to read
    }
  }
}

TEST(OpenAiToolsReply, CallChunksAsOpenAiStreamsThem) {
  OutputDelta delta;
  delta.tool_calls.push_back({0, "get_weather", R"({"city":"Paris"})", "call_x_0"});
  const std::string events = render_stream_delta(kInfo, delta);
  const size_t split = events.find("\n\n") + 2;
  const Json first = Json::parse(events.substr(6, split - 8));
  const Json second = Json::parse(events.substr(split + 6, events.size() - split - 8));
  EXPECT_EQ(first["choices"][0]["delta"], Json::parse(R"({"tool_calls": [{"index": 0, "id": "call_x_0",
      "type": "function", "function": {"name": "get_weather", "arguments": ""}}]})"));
  EXPECT_EQ(second["choices"][0]["delta"],
            Json::parse(R"({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]})"));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(render_stream_delta(kInfo, OutputDelta{}), "");  // nothing certain yet: no chunk
}

TEST(OpenAiToolsReply, CallIdsAreUniquePerResponse) {
  const std::string text = "<|tool_call>call:f{}<tool_call|><|tool_call>call:f{}<tool_call|>";
  ChatReplyOptions a = options_with(), b = options_with();
  b.call_id_prefix = "r2";
  ChatReplyBuilder first(a), second(b);
  first.feed(text);
  first.finish();
  second.feed(text);
  second.finish();
  ASSERT_EQ(first.reply().tool_calls.size(), 2u);
  ASSERT_EQ(second.reply().tool_calls.size(), 2u);
  EXPECT_EQ(first.reply().tool_calls[0].arguments, "{}");
  EXPECT_NE(first.reply().tool_calls[0].id, first.reply().tool_calls[1].id);
  EXPECT_NE(first.reply().tool_calls[0].id, second.reply().tool_calls[0].id);
}

TEST(OpenAiToolsReply, PromptOpensThoughtChannel) {
  EXPECT_TRUE(prompt_opens_thought_channel("<|turn>model\n<|channel>thought\n"));
  EXPECT_FALSE(prompt_opens_thought_channel("<|turn>model\n<|channel>thought\n<channel|>"));
  EXPECT_FALSE(prompt_opens_thought_channel("<|turn>model\n"));
  EXPECT_FALSE(prompt_opens_thought_channel(""));
}

TEST(OpenAiToolsReply, TokenDecoderKeepsMarkupAndDropsOtherSpecialTokens) {
  const auto tokenizer = make_test_tokenizer(512);
  const std::string text = "<|channel>thought\nhm<channel|><|image|>o<|think|>k<turn|>";
  const std::vector<int32_t> ids = tokenizer->encode(text);
  // The test vocabulary has these as single special tokens (it has no tool-call tokens).
  for (const char* piece : {"<|channel>", "<channel|>", "<|image|>", "<|think|>", "<turn|>"}) {
    const int32_t id = tokenizer->piece_to_id(piece);
    ASSERT_GE(id, 0) << piece;
    EXPECT_TRUE(tokenizer->is_special(id)) << piece;
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << piece;
  }
  ChatTokenDecoder decoder(*tokenizer);
  std::string decoded;
  for (const int32_t id : ids) decoded += decoder.push(id);
  decoded += decoder.flush();
  EXPECT_EQ(decoded, "<|channel>thought\nhm<channel|>ok<turn|>");
  EXPECT_TRUE(ChatTokenDecoder::is_reply_markup("<|tool_response>"));
  EXPECT_FALSE(ChatTokenDecoder::is_reply_markup("<|image|>"));
  EXPECT_FALSE(ChatTokenDecoder::is_reply_markup("<eos>"));
}

}  // namespace
}  // namespace gemma4::serve
