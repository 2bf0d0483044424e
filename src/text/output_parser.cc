// Splitting Gemma 4 model output into content, reasoning and tool calls (policy in
// include/gemma4/output_parser.h). One state machine serves both entry points: parse_model_output() feeds the
// whole text and finishes, so streamed and one-shot results agree by construction, as long as no decision
// depends on where a chunk ends. Each place that could depend on it waits for more bytes instead:
// a possible marker prefix, the channel name "thought", the end of a tool call, trailing whitespace, and an
// incomplete UTF-8 sequence at the end of a delta.
#include <gemma4/output_parser.h>

#include "text/tool_call_syntax.h"

#include <utility>

namespace gemma4 {

namespace {

constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kCallOpen = "<|tool_call>";
constexpr std::string_view kCallClose = "<tool_call|>";
constexpr std::string_view kTurnEnd = "<turn|>";
constexpr std::string_view kTurnStart = "<|turn>";
constexpr std::string_view kToolResponse = "<|tool_response>";
constexpr std::string_view kThought = "thought";

enum class Marker { ChannelOpen, ChannelClose, CallOpen, CallClose, End };

struct MarkerText {
  std::string_view text;
  Marker kind;
};

// Outside a call every marker counts; inside one only those that end it.
constexpr MarkerText kTextMarkers[] = {
    {kChannelOpen, Marker::ChannelOpen}, {kChannelClose, Marker::ChannelClose}, {kCallOpen, Marker::CallOpen},
    {kCallClose, Marker::CallClose},     {kTurnEnd, Marker::End},               {kTurnStart, Marker::End},
    {kToolResponse, Marker::End}};
constexpr MarkerText kCallEndMarkers[] = {{kCallClose, Marker::CallClose}, {kCallOpen, Marker::CallOpen},
                                          {kTurnEnd, Marker::End},         {kTurnStart, Marker::End},
                                          {kToolResponse, Marker::End}};

enum class Match { None, Partial, Full };

// Whether `rest` (which starts with '<') begins with one of `markers`, or could still become one.
template <size_t N>
Match match_marker(std::string_view rest, const MarkerText (&markers)[N], const MarkerText** found) {
  Match best = Match::None;
  for (const MarkerText& m : markers) {
    if (rest.size() >= m.text.size()) {
      if (rest.substr(0, m.text.size()) == m.text) {
        *found = &m;
        return Match::Full;
      }
    } else if (m.text.substr(0, rest.size()) == rest) {
      best = Match::Partial;
    }
  }
  return best;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Length of the prefix of `s` that does not end inside a UTF-8 sequence (invalid bytes count as complete).
size_t complete_utf8_prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char b = static_cast<unsigned char>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back for the lead byte
    size_t need = 1;
    if ((b & 0xE0) == 0xC0) need = 2;
    else if ((b & 0xF0) == 0xE0) need = 3;
    else if ((b & 0xF8) == 0xF0) need = 4;
    return back < need ? n - back : n;
  }
  return n;
}

}  // namespace

struct OutputStreamParser::State {
  enum class Mode { Content, ChannelStart, Reasoning, Call, Ended };
  Mode mode = Mode::Content;
  bool finished = false;

  std::string buf;         // bytes not yet decided
  size_t buf_offset = 0;   // offset of buf[0] in the whole text
  size_t call_offset = 0;  // offset of the current call's "<|tool_call>"
  size_t call_scan = 0;    // in a call: bytes of buf already searched for its end
  bool call_announced = false;
  size_t next_call_index = 0;

  // Trimming: leading whitespace is dropped, inner whitespace waits for the next visible byte.
  bool content_started = false;
  std::string content_space;
  bool reasoning_started = false;
  bool block_has_text = false;  // the current thought block has visible text
  std::string reasoning_space;

  std::string content_out, reasoning_out;  // decided text not yet handed out (UTF-8 hold-back)
  OutputDelta delta;

  void add_content(std::string_view text) {
    for (const char c : text) {
      if (is_space(c)) {
        if (content_started) content_space += c;
        continue;
      }
      content_out += content_space;
      content_space.clear();
      content_out += c;
      content_started = true;
    }
  }

  void add_reasoning(std::string_view text) {
    for (const char c : text) {
      if (is_space(c)) {
        if (block_has_text) reasoning_space += c;
        continue;
      }
      if (!block_has_text) {
        if (reasoning_started) reasoning_out += '\n';
        block_has_text = reasoning_started = true;
      }
      reasoning_out += reasoning_space;
      reasoning_space.clear();
      reasoning_out += c;
    }
  }

  void end_block() {
    reasoning_space.clear();
    block_has_text = false;
  }

  void consume(size_t n) {
    buf.erase(0, n);
    buf_offset += n;
  }

  // Text up to the next marker goes to content or reasoning; returns false when more bytes are needed.
  bool scan_text(bool final) {
    const bool reasoning = mode == Mode::Reasoning;
    size_t i = 0;
    while (true) {
      const size_t lt = buf.find('<', i);
      if (lt == std::string::npos) {
        reasoning ? add_reasoning(buf) : add_content(buf);
        consume(buf.size());
        return false;
      }
      const MarkerText* marker = nullptr;
      const Match match = match_marker(std::string_view(buf).substr(lt), kTextMarkers, &marker);
      if (match == Match::None || (match == Match::Partial && final)) {
        i = lt + 1;
        continue;
      }
      const std::string_view before = std::string_view(buf).substr(0, lt);
      reasoning ? add_reasoning(before) : add_content(before);
      consume(lt);
      if (match == Match::Partial) return false;  // wait for the bytes that decide
      consume(marker->text.size());
      switch (marker->kind) {
        case Marker::ChannelOpen:
          end_block();
          mode = Mode::ChannelStart;
          break;
        case Marker::ChannelClose:  // closes the thought; a stray one outside is dropped
          if (reasoning) end_block();
          mode = Mode::Content;
          break;
        case Marker::CallOpen:  // also ends an open thought
          if (reasoning) end_block();
          start_call();
          break;
        case Marker::CallClose:  // stray: dropped
          break;
        case Marker::End:
          if (reasoning) end_block();
          mode = Mode::Ended;
          break;
      }
      return true;
    }
  }

  void start_call() {
    mode = Mode::Call;
    call_offset = buf_offset - kCallOpen.size();
    call_scan = 0;
    call_announced = false;
  }

  // The channel name right after "<|channel>" is not reasoning text.
  bool scan_channel_name(bool final) {
    if (buf.size() < kThought.size() && !final && kThought.substr(0, buf.size()) == buf) return false;
    if (buf.compare(0, kThought.size(), kThought) == 0) consume(kThought.size());
    mode = Mode::Reasoning;
    return true;
  }

  void announce_call(std::string_view body) {
    if (call_announced) return;
    std::string name;
    const CallHead head = tool_call_head(body, &name);
    if (head == CallHead::Yes) delta.started.push_back({next_call_index, std::move(name)});
    call_announced = head != CallHead::NotYet;  // a call that cannot be one is not announced
  }

  // A malformed call keeps its text, as content.
  void reject_call(std::string_view raw, size_t error_offset, std::string message) {
    add_content(raw);
    delta.errors.push_back({error_offset, std::move(message)});
  }

  // Looks for the end of the current call; returns false when more bytes are needed.
  bool scan_call(bool final) {
    size_t i = call_scan;
    while (true) {
      const size_t lt = buf.find('<', i);
      const MarkerText* marker = nullptr;
      const Match match = lt == std::string::npos
                              ? Match::None
                              : match_marker(std::string_view(buf).substr(lt), kCallEndMarkers, &marker);
      if (lt != std::string::npos && (match == Match::None || (match == Match::Partial && final))) {
        i = lt + 1;
        continue;
      }
      if (lt == std::string::npos || match == Match::Partial) {
        announce_call(buf);
        if (!final) {
          call_scan = lt == std::string::npos ? buf.size() : lt;
          return false;
        }
        const std::string raw = std::string(kCallOpen) + buf;
        reject_call(raw, buf_offset + buf.size(), "tool call: the text ended before <tool_call|>");
        consume(buf.size());
        mode = Mode::Content;
        return true;
      }
      // The call's text is buf[0, lt), followed by `marker`.
      const std::string_view body = std::string_view(buf).substr(0, lt);
      announce_call(body);
      mode = Mode::Content;
      if (marker->kind == Marker::CallClose) {
        ToolCallSyntaxResult parsed = parse_tool_call_body(body, buf_offset);
        const std::string raw = std::string(kCallOpen) + std::string(body) + std::string(kCallClose);
        if (parsed.ok) {
          delta.tool_calls.push_back({next_call_index++, std::move(parsed.name), std::move(parsed.arguments), {}});
        } else {
          reject_call(raw, parsed.error_offset, std::move(parsed.error));
        }
        consume(lt + kCallClose.size());
      } else {
        const std::string raw = std::string(kCallOpen) + std::string(body);
        reject_call(raw, buf_offset + lt,
                    "tool call: " + std::string(marker->text) + " came before the call's <tool_call|>");
        consume(lt);  // the marker itself is read as text markup next
      }
      return true;
    }
  }

  void run(bool final) {
    bool progress = true;
    while (progress) {
      switch (mode) {
        case Mode::Content:
        case Mode::Reasoning:
          progress = !buf.empty() && scan_text(final);
          break;
        case Mode::ChannelStart:
          progress = scan_channel_name(final);
          break;
        case Mode::Call:
          progress = scan_call(final);
          break;
        case Mode::Ended:
          consume(buf.size());
          progress = false;
          break;
      }
    }
  }

  OutputDelta take(bool final) {
    const size_t c = final ? content_out.size() : complete_utf8_prefix(content_out);
    const size_t r = final ? reasoning_out.size() : complete_utf8_prefix(reasoning_out);
    delta.content = content_out.substr(0, c);
    content_out.erase(0, c);
    delta.reasoning = reasoning_out.substr(0, r);
    reasoning_out.erase(0, r);
    return std::exchange(delta, OutputDelta{});
  }
};

OutputStreamParser::OutputStreamParser(const OutputParserOptions& options) : state_(new State) {
  if (options.in_thought_channel) state_->mode = State::Mode::Reasoning;
}
OutputStreamParser::~OutputStreamParser() { delete state_; }
OutputStreamParser::OutputStreamParser(OutputStreamParser&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)) {}
OutputStreamParser& OutputStreamParser::operator=(OutputStreamParser&& other) noexcept {
  if (this != &other) {
    delete state_;
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

OutputDelta OutputStreamParser::feed(std::string_view chunk) {
  if (state_->finished) return {};
  if (state_->mode != State::Mode::Ended) state_->buf.append(chunk);
  state_->run(false);
  return state_->take(false);
}

OutputDelta OutputStreamParser::finish() {
  if (state_->finished) return {};
  state_->run(true);
  if (state_->mode == State::Mode::Reasoning || state_->mode == State::Mode::ChannelStart) state_->end_block();
  state_->finished = true;
  return state_->take(true);
}

bool OutputStreamParser::ended() const { return state_->mode == State::Mode::Ended; }

ParsedOutput parse_model_output(std::string_view text, const OutputParserOptions& options) {
  OutputStreamParser parser(options);
  OutputDelta first = parser.feed(text);
  OutputDelta last = parser.finish();
  ParsedOutput out;
  out.content = std::move(first.content) + last.content;
  out.reasoning = std::move(first.reasoning) + last.reasoning;
  out.tool_calls = std::move(first.tool_calls);
  for (auto& c : last.tool_calls) out.tool_calls.push_back(std::move(c));
  out.errors = std::move(first.errors);
  for (auto& e : last.errors) out.errors.push_back(std::move(e));
  out.ended = parser.ended();
  return out;
}

}  // namespace gemma4
