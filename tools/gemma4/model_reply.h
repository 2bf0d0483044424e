// What the CLI does with a chat reply as it streams: tokens decoded with their special-token text, split by
// the output parser (gemma4/output_parser.h) into the answer (stdout), thinking (stderr, when shown) and tool
// calls (stdout, one JSON line each), so no markup reaches the terminal.
#pragma once

#include <gemma4/chat_template.h>
#include <gemma4/openai.h>
#include <gemma4/output_parser.h>
#include <gemma4/tokenizer.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace gemma4::cli {

class ReplyPrinter {
 public:
  ReplyPrinter(const Tokenizer& tokenizer, bool show_thinking, const OutputParserOptions& options = {})
      : decoder_(tokenizer), parser_(options), show_thinking_(show_thinking) {}

  // Called with every generated token id: decoded with the reply's markup kept and other special tokens
  // dropped (the server's decoder), then parsed.
  void push(int32_t token) { print(parser_.feed(decoder_.push(token))); }

  // The reply is over: prints what was held back and returns the whole reply as an assistant message.
  ChatMessage finish() {
    OutputDelta last = parser_.feed(decoder_.flush());
    print(last);
    print(parser_.finish());
    ChatMessage message{"assistant", content_};
    message.reasoning = reasoning_;
    for (const ParsedToolCall& call : calls_) message.tool_calls.push_back({"call_" + std::to_string(call.index), call.name, call.arguments});
    return message;
  }

  const std::vector<ParsedToolCall>& tool_calls() const { return calls_; }

 private:
  void print(const OutputDelta& delta) {
    if (!delta.reasoning.empty()) {
      reasoning_ += delta.reasoning;
      if (show_thinking_) std::fprintf(stderr, "%s", delta.reasoning.c_str());
    }
    if (!delta.content.empty()) {
      content_ += delta.content;
      std::fwrite(delta.content.data(), 1, delta.content.size(), stdout);
    }
    for (const ParsedToolCall& call : delta.tool_calls) {
      calls_.push_back(call);
      const nlohmann::json line = {{"tool_call", {{"name", call.name}, {"arguments", nlohmann::json::parse(call.arguments)}}}};
      std::printf("%s%s\n", content_.empty() ? "" : "\n", line.dump().c_str());
    }
    for (const OutputParseError& error : delta.errors) {
      std::fprintf(stderr, "[malformed tool call at byte %zu: %s]\n", error.offset, error.message.c_str());
    }
    std::fflush(stdout);
  }

  serve::ChatTokenDecoder decoder_;
  OutputStreamParser parser_;
  bool show_thinking_;
  std::string content_, reasoning_;
  std::vector<ParsedToolCall> calls_;
};

}  // namespace gemma4::cli
