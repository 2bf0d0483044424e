// What a Gemma 4 model writes, split into answer text, thinking and tool calls, in one pass or streamed.
//
// The parser reads decoded text in which the special tokens appear as their text (decode with special tokens
// kept). It recognises this markup (Google's Gemma 4 prompt format, as the chat template writes it):
//
//   <|channel>thought\n ... <channel|>            a thought channel: reasoning, not content
//   <|tool_call>call:NAME{key:VALUE,...}<tool_call|>   one tool call; several may follow each other
//   <turn|>  <|turn>  <|tool_response>             end of the model's message: the rest is ignored
//
// Tool-call values, as the template's format_argument macro writes them (google-gemma-4-31B-it.jinja):
//   string   <|"|>any text<|"|>      (everything up to the next <|"|> is the string: braces, commas, quotes,
//                                     newlines; it cannot hold <|"|> itself, nor the markers that end a call)
//   number   JSON number syntax: 42, -7, 3.14, 1e-07, 1.5e+300
//   boolean  true / false
//   null     null, or None (llama.cpp's copy of the template prints Python's str(None))
//   object   {key:VALUE,...}  keys bare as the template writes them (the text up to ':', trailing
//            whitespace trimmed; it cannot hold ':' , { } [ ]), or <|"|>quoted<|"|> as format_argument writes
//            them with escape_keys
//   list     [VALUE,...]
// ASCII whitespace is allowed between these pieces (the template writes none). Nesting is limited to
// kMaxToolCallDepth levels. Duplicate keys: the last one wins.
//
// Text policy: reasoning is the text of every thought channel, without the channel name "thought", each block
// trimmed of ASCII whitespace, blocks joined by "\n". Content is everything outside channels and calls, trimmed
// of ASCII whitespace at both ends. A stray <channel|> or <tool_call|> is dropped; an unterminated thought
// channel is reasoning up to the end. A <|tool_call> ends an open thought channel. Other special-token text
// (<|"|> outside a call, <|image|>, ...) is plain content.
//
// Malformed calls (no "call:", missing name, bad value syntax, unbalanced braces, no <tool_call|> before the
// text ends or before another <|tool_call>/end marker, nesting too deep) are NOT dropped: their raw text,
// markers included, becomes plain content, and an entry in `errors` names the problem and its byte offset
// in the whole text. Parsing never throws for any input.
//
// Streaming: OutputStreamParser::feed(chunk) returns what became certain; text that might be the start of a
// marker ("<|tool" at the end of a chunk) is held back until the next bytes decide, and so is trailing
// whitespace (it may turn out to be the end of the trimmed content) and an incomplete UTF-8 sequence. The
// concatenation of every delta plus finish() equals parse_model_output() of the whole text, however the text
// is split.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

inline constexpr int kMaxToolCallDepth = 64;  // nested objects/lists inside one call's arguments

struct ParsedToolCall {
  size_t index = 0;       // 0, 1, ... in the order the model wrote the calls
  std::string name;       // the function name as written after "call:"
  std::string arguments;  // the arguments as compact JSON text (nlohmann::json::dump(): keys sorted, invalid
                          // UTF-8 replaced by U+FFFD)
  std::string id;         // left empty by the parser; the caller assigns ids (OpenAI wants unique ones)
};

struct OutputParseError {
  size_t offset = 0;    // byte offset in the whole text where the problem was found
  std::string message;  // what is wrong, e.g. "tool call: expected ',' or '}' after a value"
};

struct ParsedOutput {
  std::string content;
  std::string reasoning;
  std::vector<ParsedToolCall> tool_calls;
  std::vector<OutputParseError> errors;  // malformed calls, each also kept as content
  bool ended = false;                    // an end marker (<turn|>, <|turn>, <|tool_response>) was seen
};

struct OutputParserOptions {
  // The prompt already opened the thought channel (it ends with "<|channel>thought\n", as Google's newer
  // templates write after a tool response with thinking on): the output starts as reasoning.
  bool in_thought_channel = false;
};

// Splits a complete model output.
ParsedOutput parse_model_output(std::string_view text, const OutputParserOptions& options = {});

// A tool call whose start ("<|tool_call>call:NAME{") has been seen; advisory: it may still turn out malformed,
// in which case no ParsedToolCall with this index follows and the call's text arrives as content.
struct ToolCallStart {
  size_t index = 0;
  std::string name;
};

// What one feed() or finish() made certain.
struct OutputDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCallStart> started;
  std::vector<ParsedToolCall> tool_calls;  // completed calls
  std::vector<OutputParseError> errors;
  bool empty() const {
    return content.empty() && reasoning.empty() && started.empty() && tool_calls.empty() && errors.empty();
  }
};

class OutputStreamParser {
 public:
  explicit OutputStreamParser(const OutputParserOptions& options = {});
  ~OutputStreamParser();
  OutputStreamParser(OutputStreamParser&&) noexcept;
  OutputStreamParser& operator=(OutputStreamParser&&) noexcept;

  // Adds the next piece of text (any split: mid-marker, mid-UTF-8 sequence). Text after an end marker is
  // ignored.
  OutputDelta feed(std::string_view chunk);
  // The text has ended: releases what was held back (a partial marker is then plain text; an open call is
  // malformed). Further feed() calls are ignored.
  OutputDelta finish();
  // An end marker was seen: the model's message is over.
  bool ended() const;

 private:
  struct State;
  State* state_;
};

// The exact text the chat template renders for one assistant tool call (google-gemma-4-31B-it.jinja's
// tool_calls loop): "<|tool_call>call:" NAME "{" then the arguments' keys in Jinja dictsort order
// (case-insensitive, stable) as bare key:format_argument(value) pairs joined by ',' then "}<tool_call|>".
// Strings are wrapped in <|"|>, booleans are true/false, null is None, floats as Python's repr(). (Integers
// beyond 64 bits are floats once read as JSON, so they print as Python floats, unlike Python's int.)
// `arguments_json` is JSON text; when it is not a JSON object it is written verbatim between the braces, as the
// template does with a string `arguments`. Several calls are simply concatenated.
std::string format_tool_call(std::string_view name, std::string_view arguments_json);

}  // namespace gemma4
