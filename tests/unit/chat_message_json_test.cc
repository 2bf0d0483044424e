// One reader of OpenAI chat messages (text/chat_message_json.h) behind both the chat template's JSON requests
// and the server's /v1/chat/completions: both take every documented message field and read it the same way.
#include <gemma4/chat_template.h>
#include <gemma4/openai.h>
#include <gtest/gtest.h>

#include <string>

#include "text/chat_message_json.h"

namespace gemma4 {
namespace {

// Every documented OpenAI chat message field: role; content as a string or parts (text, image_url,
// input_audio); name; tool_calls; tool_call_id; reasoning_content. "iVBORw0KGgo=" is base64 of the PNG
// signature, "UklGRg==" of "RIFF".
const char* kMessages = R"([
  {"role": "developer", "content": "Be brief.", "name": "rules"},
  {"role": "user", "name": "ann", "content": [
     {"type": "text", "text": "Look:"},
     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
     {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]},
  {"role": "assistant", "content": null, "reasoning_content": "Need the tool.",
   "tool_calls": [{"id": "call_1", "type": "function",
                   "function": {"name": "lookup", "arguments": "{\"z\": 1, \"a\": \"x\"}"}}]},
  {"role": "tool", "tool_call_id": "call_1", "name": "lookup", "content": "found"},
  {"role": "assistant", "content": [{"type": "text", "text": "Done."}]}])";

void expect_union_read(const std::vector<ChatMessage>& m, const std::string& who) {
  ASSERT_EQ(m.size(), 5u) << who;
  EXPECT_EQ(m[0].role, "developer") << who;
  EXPECT_EQ(m[0].content, "Be brief.") << who;
  EXPECT_EQ(m[0].name, "rules") << who;
  EXPECT_EQ(m[1].name, "ann") << who;
  ASSERT_EQ(m[1].parts.size(), 3u) << who;
  EXPECT_EQ(m[1].parts[0].kind, ChatContentPart::Kind::Text) << who;
  EXPECT_EQ(m[1].parts[0].text, "Look:") << who;
  EXPECT_EQ(m[1].parts[1].kind, ChatContentPart::Kind::Image) << who;
  EXPECT_EQ(m[1].parts[2].kind, ChatContentPart::Kind::Audio) << who;
  EXPECT_EQ(m[2].content, "") << who;
  EXPECT_EQ(m[2].reasoning, "Need the tool.") << who;
  ASSERT_EQ(m[2].tool_calls.size(), 1u) << who;
  EXPECT_EQ(m[2].tool_calls[0].id, "call_1") << who;
  EXPECT_EQ(m[2].tool_calls[0].name, "lookup") << who;
  EXPECT_EQ(m[2].tool_calls[0].arguments, "{\"z\": 1, \"a\": \"x\"}") << who;
  EXPECT_EQ(m[3].tool_call_id, "call_1") << who;
  EXPECT_EQ(m[3].name, "lookup") << who;
  EXPECT_EQ(m[3].content, "found") << who;
  ASSERT_EQ(m[4].parts.size(), 1u) << who;
  EXPECT_EQ(m[4].parts[0].text, "Done.") << who;
}

TEST(ChatMessageJson, BothReadersTakeEveryDocumentedField) {
  const ChatRequest templated = parse_chat_request_json(std::string("{\"messages\": ") + kMessages + "}");
  expect_union_read(templated.messages, "parse_chat_request_json");
  const serve::CompletionRequest served =
      serve::parse_chat_completion_request(std::string("{\"messages\": ") + kMessages + "}");
  expect_union_read(served.messages, "parse_chat_completion_request");
  // The server also decodes the media data, in prompt order.
  EXPECT_EQ(served.images, std::vector<std::string>{"\x89PNG\r\n\x1a\n"});
  EXPECT_EQ(served.audio, std::vector<std::string>{"RIFF"});
  // Same messages, same prompt (the tool call and its reasoning included; the template sorts argument keys).
  ChatTemplateOptions options;
  options.add_generation_prompt = true;
  EXPECT_EQ(serve::prompt_text(served), apply_chat_template(templated.messages, options));
  EXPECT_NE(serve::prompt_text(served).find("<|tool_call>call:lookup{a:<|\"|>x<|\"|>,z:1}<tool_call|>"),
            std::string::npos)
      << serve::prompt_text(served);
}

TEST(ChatMessageJson, ToolCallArgumentsAsAnObjectKeepTheirOrder) {
  const char* body = R"({"messages": [{"role": "assistant",
      "tool_calls": [{"function": {"name": "f", "arguments": {"z": 1, "a": [true, null]}}}]}]})";
  EXPECT_EQ(parse_chat_request_json(body).messages[0].tool_calls[0].arguments, R"({"z":1,"a":[true,null]})");
  EXPECT_EQ(serve::parse_chat_completion_request(body).messages[0].tool_calls[0].arguments,
            R"({"z":1,"a":[true,null]})");
}

TEST(ChatMessageJson, StrictRulesAreTheServersOnly) {
  // The chat template's requests take placeholders and any role; the server refuses them, naming the field.
  const char* lenient = R"({"messages": [{"role": "model", "content": [{"type": "video"}, "bare text"]},
                                          {"role": "user"}]})";
  const ChatRequest request = parse_chat_request_json(lenient);
  ASSERT_EQ(request.messages[0].parts.size(), 2u);
  EXPECT_EQ(request.messages[0].parts[0].kind, ChatContentPart::Kind::Video);
  EXPECT_EQ(request.messages[0].parts[1].text, "bare text");
  const text::OrderedJson messages = text::OrderedJson::parse(lenient)["messages"];
  auto strict_param = [&](size_t index) {
    try {
      text::parse_chat_message(messages[index], index, {.strict = true});
    } catch (const text::JsonFieldError& e) {
      return e.param();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(strict_param(0), "messages[0].role");
  EXPECT_EQ(strict_param(1), "messages[1].content");
  // Ill-typed documented fields are refused by both, naming the field.
  const char* bad_calls = R"({"messages": [{"role": "assistant", "tool_calls": {"id": "x"}}]})";
  try {
    serve::parse_chat_completion_request(bad_calls);
    ADD_FAILURE() << "accepted";
  } catch (const serve::ApiError& e) {
    EXPECT_EQ(e.param(), "messages[0].tool_calls");
    EXPECT_EQ(e.code(), "invalid_type");
  }
  try {
    parse_chat_request_json(bad_calls);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'messages[0].tool_calls' must be an array"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
