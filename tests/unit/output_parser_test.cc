// The Gemma 4 output parser (include/gemma4/output_parser.h) and format_tool_call.
//
// Expected values: tool-call turns rendered by Python's jinja2 from the real chat templates
// (tests/data/output_parser/jinja_tool_calls.jsonl, made by tests/text/output_parser_cases.py from
// tests/data/chat_templates/, checked by tests/text/test_output_parser_fixture.sh), and hand-derived cases.
// Streaming must agree with the one-shot parse for every split of the text.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <gemma4/output_parser.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace gemma4 {
namespace {

using Json = nlohmann::json;

struct JinjaCase {
  std::string template_name, text, calls_text, content, reasoning;
  std::vector<std::pair<std::string, std::string>> calls;  // name, arguments as JSON text
};

const std::vector<JinjaCase>& jinja_cases() {
  static const std::vector<JinjaCase> cases = [] {
    std::vector<JinjaCase> out;
    const auto path = std::filesystem::path(GEMMA4_TEST_DATA) / "output_parser" / "jinja_tool_calls.jsonl";
    std::ifstream in(path);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const Json j = Json::parse(line);
      JinjaCase c;
      c.template_name = j.at("template");
      c.text = j.at("text");
      c.calls_text = j.at("calls_text");
      c.content = j.at("content");
      c.reasoning = j.at("reasoning");
      for (const auto& call : j.at("calls")) c.calls.emplace_back(call.at("name"), call.at("arguments_json"));
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// Feeds `text` cut at `cuts` (ascending offsets) and adds up the deltas. Checks what every delta promises:
// started announcements precede their calls, and valid UTF-8 input gives valid UTF-8 deltas.
ParsedOutput stream(std::string_view text, const std::vector<size_t>& cuts, const OutputParserOptions& options = {}) {
  OutputStreamParser parser(options);
  ParsedOutput out;
  std::vector<ToolCallStart> started;
  const bool utf8 = valid_utf8(text);
  auto add = [&](OutputDelta d) {
    if (utf8) {
      EXPECT_TRUE(valid_utf8(d.content)) << "content delta cuts a UTF-8 sequence";
      EXPECT_TRUE(valid_utf8(d.reasoning)) << "reasoning delta cuts a UTF-8 sequence";
    }
    out.content += d.content;
    out.reasoning += d.reasoning;
    for (auto& s : d.started) started.push_back(std::move(s));
    for (auto& c : d.tool_calls) {
      auto announced =
          std::find_if(started.rbegin(), started.rend(), [&](const auto& s) { return s.index == c.index; });
      EXPECT_TRUE(announced != started.rend() && announced->name == c.name)
          << "call " << c.index << " completed without being announced";
      out.tool_calls.push_back(std::move(c));
    }
    for (auto& e : d.errors) out.errors.push_back(std::move(e));
  };
  size_t prev = 0;
  for (const size_t cut : cuts) {
    add(parser.feed(text.substr(prev, cut - prev)));
    prev = cut;
  }
  add(parser.feed(text.substr(prev)));
  add(parser.finish());
  out.ended = parser.ended();
  EXPECT_TRUE(parser.feed("more").empty());
  return out;
}

std::string describe(const ParsedOutput& p) {
  Json j = {{"content", p.content}, {"reasoning", p.reasoning}, {"ended", p.ended}};
  for (const auto& c : p.tool_calls) j["calls"].push_back({c.index, c.name, c.arguments});
  for (const auto& e : p.errors) j["errors"].push_back({e.offset, e.message});
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string shown(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- Rendered by jinja2 from the real templates -----------------------------------------------------------

TEST(OutputParserJinja, FixtureIsThere) { EXPECT_GE(jinja_cases().size(), 300u); }

TEST(OutputParserJinja, ParsesEveryRenderedTurn) {
  size_t calls = 0;
  for (const JinjaCase& c : jinja_cases()) {
    const ParsedOutput p = parse_model_output(c.text);
    SCOPED_TRACE(c.template_name + ": " + shown(c.text));
    EXPECT_EQ(p.content, c.content);
    EXPECT_EQ(p.reasoning, c.reasoning);
    EXPECT_TRUE(p.errors.empty()) << describe(p);
    EXPECT_TRUE(p.ended);  // <|tool_response> (31B template) or <turn|> (interleaved)
    ASSERT_EQ(p.tool_calls.size(), c.calls.size()) << describe(p);
    for (size_t i = 0; i < c.calls.size(); ++i) {
      EXPECT_EQ(p.tool_calls[i].index, i);
      EXPECT_EQ(p.tool_calls[i].name, c.calls[i].first);
      EXPECT_TRUE(p.tool_calls[i].id.empty());
      // Exact comparison of values: Python's repr() and nlohmann both write the shortest round-trip digits,
      // so every float comes back bit for bit (ints and floats of equal value compare equal).
      EXPECT_EQ(Json::parse(p.tool_calls[i].arguments), Json::parse(c.calls[i].second))
          << "arguments " << p.tool_calls[i].arguments << " expected " << c.calls[i].second;
      EXPECT_EQ(p.tool_calls[i].arguments, Json::parse(c.calls[i].second).dump());
      ++calls;
    }
  }
  EXPECT_GT(calls, 600u);
}

TEST(OutputParserJinja, FormatToolCallMatchesTheTemplate) {
  for (const JinjaCase& c : jinja_cases()) {
    std::string ours;
    for (const auto& [name, arguments] : c.calls) ours += format_tool_call(name, arguments);
    EXPECT_EQ(ours, c.calls_text);
  }
}

TEST(OutputParserJinja, FormatThenParseRoundTrips) {
  for (const JinjaCase& c : jinja_cases()) {
    for (const auto& [name, arguments] : c.calls) {
      const ParsedOutput p = parse_model_output(format_tool_call(name, arguments));
      ASSERT_EQ(p.tool_calls.size(), 1u) << describe(p);
      EXPECT_EQ(Json::parse(p.tool_calls[0].arguments), Json::parse(arguments));
    }
  }
}

TEST(OutputParserJinja, StreamingMatchesOneShotAtEverySplit) {
  const auto& cases = jinja_cases();
  std::mt19937 rng(7);
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string& text = cases[k].text;
    const std::string whole = describe(parse_model_output(text));
    // Two pieces, cut at every byte, for a quarter of the cases; every case byte by byte and at random cuts.
    if (k % 4 == 0)
      for (size_t cut = 0; cut <= text.size(); ++cut) ASSERT_EQ(describe(stream(text, {cut})), whole) << "cut " << cut;
    std::vector<size_t> every(text.size());
    for (size_t i = 0; i < text.size(); ++i) every[i] = i;
    ASSERT_EQ(describe(stream(text, every)), whole) << "byte by byte";
    for (int trial = 0; trial < 8; ++trial) {
      std::vector<size_t> cuts;
      for (size_t i = 1; i < text.size(); ++i)
        if (rng() % 7 == 0) cuts.push_back(i);
      ASSERT_EQ(describe(stream(text, cuts)), whole);
    }
  }
}

TEST(OutputParserJinja, NoMarkupLeaksIntoContent) {
  for (const JinjaCase& c : jinja_cases()) {
    const ParsedOutput p = stream(c.text, {c.text.size() / 3, c.text.size() / 2});
    for (std::string_view m : {"<|tool_call>", "<tool_call|>", "<|\"|>", "<|channel>", "<channel|>", "<turn|>",
                               "<|tool_response>"}) {
      EXPECT_EQ(p.content.find(m), std::string::npos) << m << " in " << shown(p.content);
      EXPECT_EQ(p.reasoning.find(m), std::string::npos) << m << " in " << shown(p.reasoning);
    }
  }
}

// ---- Hand-derived cases -----------------------------------------------------------------------------------

struct Expected {
  std::string text;
  std::string content;
  std::string reasoning;
  std::vector<std::pair<std::string, std::string>> calls;  // name, compact JSON
  bool ended = false;
};

const std::vector<Expected>& well_formed() {
  static const std::vector<Expected> cases = {
      {"Hello, world!", "Hello, world!", "", {}},
      {"", "", "", {}},
      {"  \n padded \n", "padded", "", {}},
      {"<|channel>thought\nI'm\nthinking<channel|>Hello, world!\nWhat's up?", "Hello, world!\nWhat's up?",
       "I'm\nthinking", {}},
      {"<|channel>thought<channel|>Hi", "Hi", "", {}},
      {"<|channel>thought\n<channel|>Hello<channel|>", "Hello", "", {}},
      {"<|channel>thought\n<channel|>Hello<|channel>thought\n<channel|><channel|>", "Hello", "", {}},
      {"<|channel><|channel>thought\n<channel|>Hello", "Hello", "", {}},
      {"<|channel>thought\nstill thinking", "", "still thinking", {}},
      {"<|channel>thought\n one \n<channel|>A<|channel>thought\ntwo<channel|>B", "AB", "one\ntwo", {}},
      {"<|channel>thoughtful<channel|>x", "x", "ful", {}},
      {"<|channel>tho<channel|>x", "x", "tho", {}},
      {"<|channel>plain<channel|>x", "x", "plain", {}},
      {"a <|tool look-alike <|x <tool_call and <|\"|> stays", "a <|tool look-alike <|x <tool_call and <|\"|> stays",
       "", {}},
      {"a <|tool", "a <|tool", "", {}},
      {"stray<tool_call|> close<channel|>s", "stray closes", "", {}},
      {"<|tool_call>call:get_time{city:<|\"|>London<|\"|>}<tool_call|>", "", "",
       {{"get_time", R"({"city":"London"})"}}},
      {"<|tool_call>call:empty_args{}<tool_call|>", "", "", {{"empty_args", "{}"}}},
      {"Hello, world!\nWhat's up?<|tool_call>call:get_time{city:<|\"|>Paris<|\"|>}<tool_call|>",
       "Hello, world!\nWhat's up?", "", {{"get_time", R"({"city":"Paris"})"}}},
      {"<|channel>thought\nI'm\nthinking<channel|><|tool_call>call:get_time{city:<|\"|>Paris<|\"|>}<tool_call|>", "",
       "I'm\nthinking", {{"get_time", R"({"city":"Paris"})"}}},
      {"<|tool_call>call:get_time{city:<|\"|>London<|\"|>}<tool_call|>"
       "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>",
       "", "", {{"get_time", R"({"city":"London"})"}, {"get_weather", R"({"city":"Paris"})"}}},
      {"<|tool_call>call:f{a:42,b:-7,c:3.14,d:1.5e10,e:-0.5E-3,f:0,g:1e+16}<tool_call|>", "", "",
       {{"f", R"({"a":42,"b":-7,"c":3.14,"d":15000000000.0,"e":-0.0005,"f":0,"g":1e+16})"}}},
      {"<|tool_call>call:toggle{on:true,off:false,n:null,p:None}<tool_call|>", "", "",
       {{"toggle", R"({"n":null,"off":false,"on":true,"p":null})"}}},
      {"<|tool_call>call:todo{todos:[<|\"|>buy milk<|\"|>,<|\"|>walk dog<|\"|>],none:[],o:{}}<tool_call|>", "", "",
       {{"todo", R"({"none":[],"o":{},"todos":["buy milk","walk dog"]})"}}},
      {"<|tool_call>call:set{config:{theme:<|\"|>dark<|\"|>,count:3,deep:{l:[[1],[{x:[]}]]}}}<tool_call|>", "", "",
       {{"set", R"({"config":{"count":3,"deep":{"l":[[1],[{"x":[]}]]},"theme":"dark"}})"}}},
      {"<|tool_call>call:s{t:<|\"|>{a:1}, [b], \"q\" 'q' \\ \n<|channel>x<channel|> <|tool<|\"|>}<tool_call|>", "", "",
       {{"s", R"({"t":"{a:1}, [b], \"q\" 'q' \\ \n<|channel>x<channel|> <|tool"})"}}},
      {"<|tool_call> call:f { a : 1 , b : [ 1 , 2 ] ,\n c\t:\t<|\"|> x <|\"|> } <tool_call|>", "", "",
       {{"f", R"({"a":1,"b":[1,2],"c":" x "})"}}},
      {"<|tool_call>call:f{<|\"|>odd:key, {}<|\"|>:1,key with space:2,ключ:3}<tool_call|>", "", "",
       {{"f", R"({"key with space":2,"odd:key, {}":1,"ключ":3})"}}},
      {"<|tool_call>call:f{a:1,a:2}<tool_call|>", "", "", {{"f", R"({"a":2})"}}},
      {"<|tool_call>call:default_api:search{q:<|\"|><|\"|>}<tool_call|>", "", "",
       {{"default_api:search", R"({"q":""})"}}},
      {"<|channel>thought\nplan<|tool_call>call:f{}<tool_call|>after", "after", "plan", {{"f", "{}"}}},
      {"Before.<|tool_call>call:f{}<tool_call|> After.<|tool_response>ignored<|tool_call>call:g{}<tool_call|>",
       "Before. After.", "", {{"f", "{}"}}, true},
      {"Answer.<turn|>\n<|turn>user\nmore", "Answer.", "", {}, true},
      {"Answer.<|turn>user", "Answer.", "", {}, true},
      {"<|channel>thought\nhmm<turn|>x", "", "hmm", {}, true},
  };
  return cases;
}

TEST(OutputParserHand, WellFormed) {
  for (const Expected& e : well_formed()) {
    SCOPED_TRACE(shown(e.text));
    const ParsedOutput p = parse_model_output(e.text);
    EXPECT_EQ(p.content, e.content);
    EXPECT_EQ(p.reasoning, e.reasoning);
    EXPECT_EQ(p.ended, e.ended);
    EXPECT_TRUE(p.errors.empty()) << describe(p);
    ASSERT_EQ(p.tool_calls.size(), e.calls.size()) << describe(p);
    for (size_t i = 0; i < e.calls.size(); ++i) {
      EXPECT_EQ(p.tool_calls[i].name, e.calls[i].first);
      EXPECT_EQ(p.tool_calls[i].arguments, Json::parse(e.calls[i].second).dump());
    }
  }
}

struct Malformed {
  std::string text;
  std::string content;      // the raw call text kept as content
  size_t calls;             // well-formed calls still found
  std::string error;        // part of the (first) error message
  std::string offset_at;    // the error offset is where this text first occurs in `text` ("" = end of text)
};

const std::vector<Malformed>& malformed() {
  const std::string C = "<|tool_call>";
  static const std::vector<Malformed> cases = {
      {C + "call:f{a:1", C + "call:f{a:1", 0, "ended before <tool_call|>", ""},
      {C + "call:f{a:1}<turn|>tail", C + "call:f{a:1}", 0, "<turn|> came before", "<turn|>"},
      {C + "call:f{a:1}<|tool_response>", C + "call:f{a:1}", 0, "<|tool_response> came before", "<|tool_response>"},
      {C + "call:f{a:1" + C + "call:g{}<tool_call|>", C + "call:f{a:1", 1, "<|tool_call> came before",
       "<|tool_call>call:g"},
      {C + "f{a:1}<tool_call|>", C + "f{a:1}<tool_call|>", 0, "expected \"call:\"", "f{"},
      {C + "call:{a:1}<tool_call|>", C + "call:{a:1}<tool_call|>", 0, "missing function name", "{a"},
      {C + "call:f(a:1)<tool_call|>", C + "call:f(a:1)<tool_call|>", 0, "expected '{' after the function name", "(a"},
      {C + "call:f{a:<|\"|>x}<tool_call|>", C + "call:f{a:<|\"|>x}<tool_call|>", 0, "string without its closing",
       "<|\"|>x"},
      {C + "call:f{a:1,}<tool_call|>", C + "call:f{a:1,}<tool_call|>", 0, "expected a key, found '}'", "}<tool"},
      {C + "call:f{a:1}}<tool_call|>", C + "call:f{a:1}}<tool_call|>", 0, "unexpected '}' after", "}<tool"},
      {C + "call:f{a:{b:1}<tool_call|>", C + "call:f{a:{b:1}<tool_call|>", 0,
       "expected ',' or '}' after the value of \"a\", found end of the call", "<tool_call|>"},
      {C + "call:f{a:[1,2}<tool_call|>", C + "call:f{a:[1,2}<tool_call|>", 0, "expected ',' or ']' in a list",
       "}<tool"},
      {C + "call:f{a:London}<tool_call|>", C + "call:f{a:London}<tool_call|>", 0, "unknown word \"London\"", "London"},
      {C + "call:f{a:1.}<tool_call|>", C + "call:f{a:1.}<tool_call|>", 0, "no digits after '.'", "}<tool"},
      {C + "call:f{a:01}<tool_call|>", C + "call:f{a:01}<tool_call|>", 0, "bad number: '1' after \"0\"", "1}"},
      {C + "call:f{a:1e}<tool_call|>", C + "call:f{a:1e}<tool_call|>", 0, "no digits in the exponent", "}<tool"},
      {C + "call:f{a:-}<tool_call|>", C + "call:f{a:-}<tool_call|>", 0, "no digits after '-'", "}<tool"},
      {C + "call:f{a:1e999}<tool_call|>", C + "call:f{a:1e999}<tool_call|>", 0, "number out of range", "1e999"},
      {C + "call:f{:1}<tool_call|>", C + "call:f{:1}<tool_call|>", 0, "expected a key, found ':'", ":1"},
      {C + "call:f{a 1}<tool_call|>", C + "call:f{a 1}<tool_call|>", 0, "expected ':' after the key \"a 1\"", "}<tool"},
      {C + "call:f{a:}<tool_call|>", C + "call:f{a:}<tool_call|>", 0, "expected a value, found '}'", "}<tool"},
      {C + "call:f{a:1 b:2}<tool_call|>", C + "call:f{a:1 b:2}<tool_call|>", 0, "expected ',' or '}'", "b:2"},
      {"x " + C + "call:f{a:1" + "<tool_call|>" + " y" + C + "call:g{}<tool_call|>",
       "x " + C + "call:f{a:1<tool_call|> y", 1, "found end of the call", "<tool_call|> y"},
  };
  return cases;
}

TEST(OutputParserHand, MalformedCallsBecomeContentWithAnError) {
  for (const Malformed& m : malformed()) {
    SCOPED_TRACE(shown(m.text));
    const ParsedOutput p = parse_model_output(m.text);
    EXPECT_EQ(p.content, m.content);
    EXPECT_EQ(p.tool_calls.size(), m.calls) << describe(p);
    for (const auto& c : p.tool_calls) EXPECT_EQ(c.index, 0u);  // a rejected call takes no index
    ASSERT_EQ(p.errors.size(), 1u) << describe(p);
    EXPECT_NE(p.errors[0].message.find(m.error), std::string::npos) << p.errors[0].message;
    EXPECT_EQ(p.errors[0].message.rfind("tool call: ", 0), 0u);
    const size_t offset = m.offset_at.empty() ? m.text.size() : m.text.find(m.offset_at);
    EXPECT_EQ(p.errors[0].offset, offset) << p.errors[0].message;
  }
}

std::string nested(const std::string& open, const std::string& close, int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += open;
  for (int i = 0; i < levels; ++i) s += close;
  return s;
}

TEST(OutputParserHand, NestingDepthIsBounded) {
  // The arguments object is level 1: 63 nested lists fit in kMaxToolCallDepth = 64 levels, 64 do not.
  const ParsedOutput ok = parse_model_output("<|tool_call>call:f{a:" + nested("[", "]", 63) + "}<tool_call|>");
  ASSERT_EQ(ok.tool_calls.size(), 1u) << describe(ok);
  EXPECT_TRUE(ok.errors.empty());
  const ParsedOutput deep = parse_model_output("<|tool_call>call:f{a:" + nested("{b:", "}", 64) + "}<tool_call|>");
  EXPECT_TRUE(deep.tool_calls.empty());
  ASSERT_EQ(deep.errors.size(), 1u);
  EXPECT_NE(deep.errors[0].message.find("nested deeper than 64"), std::string::npos);
  // Far deeper input: no stack exhaustion, and linear time (a quadratic parse of 200k levels would take hours;
  // the bound is loose so that a loaded machine does not fail it).
  const auto start = std::chrono::steady_clock::now();
  const std::string huge = "<|tool_call>call:f{a:" + nested("[", "]", 200000) + "}<tool_call|>";
  const ParsedOutput p = parse_model_output(huge);
  EXPECT_EQ(p.content, huge);
  EXPECT_EQ(p.errors.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(OutputParserHand, PromptOpenedTheThoughtChannel) {
  OutputParserOptions in_thought;
  in_thought.in_thought_channel = true;
  const std::string text = "\nI think.\n<channel|>Answer<|tool_call>call:f{}<tool_call|>";
  const ParsedOutput p = parse_model_output(text, in_thought);
  EXPECT_EQ(p.reasoning, "I think.");
  EXPECT_EQ(p.content, "Answer");
  EXPECT_EQ(p.tool_calls.size(), 1u);
  const std::string whole = describe(p);
  for (size_t cut = 0; cut <= text.size(); ++cut) EXPECT_EQ(describe(stream(text, {cut}, in_thought)), whole);
  // "thought" at the start is the model's own word here, not a channel name.
  EXPECT_EQ(parse_model_output("thoughts<channel|>", in_thought).reasoning, "thoughts");
  // Without the option the same text is content; the stray <channel|> is dropped.
  EXPECT_EQ(parse_model_output("I think.<channel|>Answer").content, "I think.Answer");
}

TEST(OutputParserHand, InvalidUtf8IsReplacedInArguments) {
  const ParsedOutput p = parse_model_output("<|tool_call>call:f{s:<|\"|>a\xff<|\"|>}<tool_call|>");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments, "{\"s\":\"a\xEF\xBF\xBD\"}");
}

TEST(OutputParserHand, HandCasesStreamLikeOneShotAtEverySplit) {
  std::vector<std::string> texts;
  for (const auto& e : well_formed()) texts.push_back(e.text);
  for (const auto& m : malformed()) texts.push_back(m.text);
  texts.push_back("é日🙂<|channel>thought\nü🙂<channel|>ñ\xc3");  // ends mid-sequence
  for (const std::string& text : texts) {
    const std::string whole = describe(parse_model_output(text));
    for (size_t cut = 0; cut <= text.size(); ++cut) ASSERT_EQ(describe(stream(text, {cut})), whole) << shown(text);
    for (size_t a = 1; a < text.size() && text.size() < 80; ++a)
      for (size_t b = a; b < text.size(); b += 3) ASSERT_EQ(describe(stream(text, {a, b})), whole) << shown(text);
  }
}

// ---- Streaming hold-back -------------------------------------------------------------------------------------

TEST(OutputParserStream, PartialMarkerIsHeldUntilKnown) {
  OutputStreamParser p;
  OutputDelta d = p.feed("Hello <|tool");
  EXPECT_EQ(d.content, "Hello");  // the space waits too: it may end the content
  d = p.feed("_call>call:get_weather{ci");
  EXPECT_EQ(d.content, "");
  ASSERT_EQ(d.started.size(), 1u);
  EXPECT_EQ(d.started[0].name, "get_weather");
  EXPECT_EQ(d.started[0].index, 0u);
  EXPECT_TRUE(d.tool_calls.empty());
  d = p.feed("ty:<|\"|>Paris<|\"|>}<tool_");
  EXPECT_TRUE(d.empty());
  d = p.feed("call|> ok");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(d.content, "  ok");
  EXPECT_TRUE(p.finish().empty());
}

TEST(OutputParserStream, LookAlikeIsReleased) {
  OutputStreamParser p;
  EXPECT_EQ(p.feed("a <|t").content, "a");
  EXPECT_EQ(p.feed("x").content, " <|tx");
  EXPECT_EQ(p.feed("<chan").content, "");
  EXPECT_EQ(p.finish().content, "<chan");
}

TEST(OutputParserStream, ChannelNameIsHeld) {
  OutputStreamParser p;
  EXPECT_TRUE(p.feed("<|channel>tho").empty());
  EXPECT_EQ(p.feed("ught\nabc").reasoning, "abc");
  OutputStreamParser q;
  EXPECT_TRUE(q.feed("<|channel>tho").empty());
  EXPECT_EQ(q.feed("se").reasoning, "those");
}

TEST(OutputParserStream, Utf8SequenceIsHeld) {
  OutputStreamParser p;
  EXPECT_EQ(p.feed("caf\xc3").content, "caf");
  EXPECT_EQ(p.feed("\xa9!").content, "\xc3\xa9!");
  EXPECT_EQ(p.feed("\xf0\x9f").content, "");
  EXPECT_EQ(p.feed("\x99\x82").content, "\xf0\x9f\x99\x82");
}

TEST(OutputParserStream, EndMarkerStopsTheStream) {
  OutputStreamParser p;
  EXPECT_EQ(p.feed("Done.<tur").content, "Done.");
  EXPECT_FALSE(p.ended());
  EXPECT_TRUE(p.feed("n|>\n<|turn>user\nHi").empty());
  EXPECT_TRUE(p.ended());
  EXPECT_TRUE(p.feed("anything").empty());
  EXPECT_TRUE(p.finish().empty());
}

TEST(OutputParserStream, MovedParserKeepsItsState) {
  OutputStreamParser p;
  p.feed("<|tool_call>call:f{a:");
  OutputStreamParser q = std::move(p);
  const OutputDelta d = q.feed("1}<tool_call|>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].arguments, R"({"a":1})");
}

// Random texts built from markup pieces, mutated jinja turns: the same result however they are split, and no
// exception, crash or hang.
TEST(OutputParserStream, FuzzedTextsAgreeWithOneShot) {
  const std::vector<std::string> pieces = {
      "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>", "<turn|>", "<|turn>", "<|tool_response>",
      "<|tool", "<tool_call", "<|\"", "<chan", "thought", "\n", " ", "call:", "f", "{", "}", "[", "]", ":", ",", "a",
      "1", "-", ".", "e", "true", "None", "x", "\xc3\xa9", "\xe6\x97", "<"};
  std::mt19937 rng(11);
  for (int t = 0; t < 3000; ++t) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    const std::string whole = describe(parse_model_output(text));
    std::vector<size_t> cuts;
    for (size_t i = 1; i < text.size(); ++i)
      if (rng() % 3 == 0) cuts.push_back(i);
    ASSERT_EQ(describe(stream(text, cuts)), whole) << shown(text);
    ASSERT_EQ(describe(stream(text, {rng() % (text.size() + 1)})), whole) << shown(text);
  }
  const auto& cases = jinja_cases();
  for (size_t k = 0; k < cases.size(); ++k) {
    std::string text = cases[k].text;
    for (int m = 0; m < 3; ++m) {
      const size_t at = rng() % text.size();
      if (rng() % 2) text.erase(at, 1 + rng() % 4);
      else text.insert(at, pieces[rng() % pieces.size()]);
      if (text.empty()) break;
    }
    const std::string whole = describe(parse_model_output(text));
    std::vector<size_t> cuts;
    for (size_t i = 1; i < text.size(); ++i)
      if (rng() % 5 == 0) cuts.push_back(i);
    ASSERT_EQ(describe(stream(text, cuts)), whole) << shown(text);
  }
}

// ---- format_tool_call, hand-derived -----------------------------------------------------------------------

TEST(FormatToolCall, MirrorsTheTemplate) {
  // dictsort: case-insensitive and stable ("A" before "a" because it comes first in the JSON).
  EXPECT_EQ(format_tool_call("f", R"({"b": 1, "A": null, "a": [true, 1.5e-05, "s"]})"),
            "<|tool_call>call:f{A:None,a:[true,1.5e-05,<|\"|>s<|\"|>],b:1}<tool_call|>");
  EXPECT_EQ(format_tool_call("f", R"({"x": {"Q": {}, "p": []}})"), "<|tool_call>call:f{x:{p:[],Q:{}}}<tool_call|>");
  EXPECT_EQ(format_tool_call("f", "{}"), "<|tool_call>call:f{}<tool_call|>");
  EXPECT_EQ(format_tool_call("f", ""), "<|tool_call>call:f{}<tool_call|>");
  // Not a JSON object: written as it is (the template's string-arguments branch).
  EXPECT_EQ(format_tool_call("f", "city:<|\"|>Paris<|\"|>"), "<|tool_call>call:f{city:<|\"|>Paris<|\"|>}<tool_call|>");
  EXPECT_EQ(format_tool_call("f", "[1]"), "<|tool_call>call:f{[1]}<tool_call|>");
}

TEST(FormatToolCall, FloatsAsPythonRepr) {
  // Python: repr(x) for each value.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0.0", "0.0"},       {"-0.0", "-0.0"},        {"3.0", "3.0"},          {"0.1", "0.1"},
      {"0.0001", "0.0001"}, {"0.00001", "1e-05"},    {"0.00012", "0.00012"},  {"1e15", "1000000000000000.0"},
      {"1e16", "1e+16"},    {"1.5e300", "1.5e+300"}, {"123456789.125", "123456789.125"},
      {"5e-324", "5e-324"}, {"-2.5e-7", "-2.5e-07"}, {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"123456789012345678.0", "1.2345678901234568e+17"}};
  for (const auto& [json, python] : cases)
    EXPECT_EQ(format_tool_call("f", "{\"x\":" + json + "}"), "<|tool_call>call:f{x:" + python + "}<tool_call|>");
}

}  // namespace
}  // namespace gemma4
