// ChatReplyBuilder and ChatTokenDecoder (gemma4/openai.h): the model's reply text -> content, reasoning and tool
// calls with ids, the same pieces whether the response is streamed or not.
#include <gemma4/openai.h>

#include <algorithm>

namespace gemma4::serve {
namespace {

constexpr std::string_view kCallOpen = "<|tool_call>";
constexpr std::string_view kCallClose = "<tool_call|>";
constexpr std::string_view kThoughtOpen = "<|channel>thought\n";

void append(OutputDelta& into, OutputDelta&& more) {
  into.content += more.content;
  into.reasoning += more.reasoning;
  for (auto& start : more.started) into.started.push_back(std::move(start));
  for (auto& call : more.tool_calls) into.tool_calls.push_back(std::move(call));
  for (auto& error : more.errors) into.errors.push_back(std::move(error));
}

// The length of the longest end of `text` that is the start of `stop` (shorter than `stop`).
size_t partial_stop_length(std::string_view text, std::string_view stop) {
  for (size_t n = std::min(text.size(), stop.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == stop.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

bool prompt_opens_thought_channel(std::string_view prompt) {
  return prompt.size() >= kThoughtOpen.size() && prompt.substr(prompt.size() - kThoughtOpen.size()) == kThoughtOpen;
}

ChatReplyBuilder::ChatReplyBuilder(ChatReplyOptions options)
    : options_(std::move(options)), parser_(OutputParserOptions{options_.in_thought_channel}) {}

OutputDelta ChatReplyBuilder::feed(std::string_view text) {
  OutputDelta delta;
  if (ended_ || finished_) return delta;
  held_ += text;
  // Cut at the first stop string outside a tool call (one inside a call's arguments would break the call, and
  // its markup would become content); hold back an end that may still become a stop string or a call's marker.
  size_t cut = std::string::npos;
  size_t release_end = held_.size();
  size_t i = 0;
  while (!options_.stop.empty()) {
    if (in_call_) {
      const size_t close = held_.find(kCallClose, i);
      if (close == std::string::npos) {
        release_end = held_.size() - partial_stop_length(std::string_view(held_).substr(i), kCallClose);
        break;
      }
      in_call_ = false;
      i = close + kCallClose.size();
      continue;
    }
    size_t stop_at = std::string::npos;
    for (const std::string& stop : options_.stop) stop_at = std::min(stop_at, held_.find(stop, i));
    const size_t open = held_.find(kCallOpen, i);
    if (stop_at != std::string::npos && (open == std::string::npos || stop_at < open)) {
      cut = stop_at;
      break;
    }
    if (open != std::string::npos) {
      in_call_ = true;
      i = open + kCallOpen.size();
      continue;
    }
    size_t keep = partial_stop_length(std::string_view(held_).substr(i), kCallOpen);
    for (const std::string& stop : options_.stop) {
      keep = std::max(keep, partial_stop_length(std::string_view(held_).substr(i), stop));
    }
    release_end = held_.size() - keep;
    break;
  }
  std::string release;
  if (cut != std::string::npos) {
    release = held_.substr(0, cut);
    held_.clear();
  } else {
    release = held_.substr(0, release_end);
    held_.erase(0, release_end);
  }
  // Without parallel calls the reply ends right after the first complete call: feed up to each call's end.
  size_t start = 0;
  while (start < release.size() && !ended_) {
    size_t end = release.size();
    if (!options_.parallel_tool_calls) {
      const size_t close = release.find(kCallClose, start);
      if (close != std::string::npos) end = close + kCallClose.size();
    }
    append(delta, record(parser_.feed(std::string_view(release).substr(start, end - start))));
    start = end;
  }
  if (cut != std::string::npos) ended_ = stopped_ = true;
  return delta;
}

OutputDelta ChatReplyBuilder::finish(std::string_view last_text) {
  OutputDelta delta;
  if (finished_) return delta;
  if (!last_text.empty()) delta = feed(last_text);
  finished_ = true;
  if (!stopped_) append(delta, record(parser_.feed(held_)));
  held_.clear();
  append(delta, record(parser_.finish()));
  return delta;
}

OutputDelta ChatReplyBuilder::record(OutputDelta delta) {
  if (!options_.parallel_tool_calls && !reply_.tool_calls.empty()) delta.tool_calls.clear();
  if (!options_.parallel_tool_calls && delta.tool_calls.size() > 1) delta.tool_calls.resize(1);
  for (ParsedToolCall& call : delta.tool_calls) {
    call.index = reply_.tool_calls.size();
    call.id = "call_" + options_.call_id_prefix + "_" + std::to_string(call.index);
    reply_.tool_calls.push_back(call);
  }
  reply_.content += delta.content;
  reply_.reasoning += delta.reasoning;
  reply_.errors.insert(reply_.errors.end(), delta.errors.begin(), delta.errors.end());
  if (parser_.ended()) ended_ = true;
  if (!options_.parallel_tool_calls && !reply_.tool_calls.empty()) ended_ = stopped_ = true;
  return delta;
}

std::string ChatReplyBuilder::finish_reason(const std::string& stop_reason) const {
  if (!stopped_ && (stop_reason == "max_tokens" || stop_reason == "context_full")) return "length";
  return reply_.tool_calls.empty() ? "stop" : "tool_calls";
}

bool ChatTokenDecoder::is_reply_markup(std::string_view piece) {
  for (const std::string_view marker : {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>",
                                        "<turn|>", "<|turn>", "<|tool_response>"}) {
    if (piece == marker) return true;
  }
  return false;
}

std::string ChatTokenDecoder::push(int32_t token) {
  if (tokenizer_.is_special(token) && !is_reply_markup(tokenizer_.token_to_piece(token))) return {};
  return decoder_.push(token);
}

}  // namespace gemma4::serve
