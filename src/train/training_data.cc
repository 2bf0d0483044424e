#include "train/training_data.h"

#include <gemma4/error.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace gemma4::train {
namespace {

void append(TrainingExample& example, const std::vector<int32_t>& tokens, uint8_t target) {
  example.tokens.insert(example.tokens.end(), tokens.begin(), tokens.end());
  example.target.insert(example.target.end(), tokens.size(), target);
}

bool is_model_role(const std::string& role) { return role == "assistant" || role == "model"; }

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TrainingExample encode_chat(const std::vector<ChatMessage>& messages, const ExampleEncoder& encoder, const std::string& where) {
  if (encoder.tokenizer == nullptr || encoder.chat_template == nullptr) {
    throw Error(where + ": chat data needs the model's tokenizer and chat template");
  }
  ChatTemplateOptions with_prompt = encoder.template_options;
  with_prompt.add_generation_prompt = true;
  ChatTemplateOptions without_prompt = encoder.template_options;
  without_prompt.add_generation_prompt = false;
  TrainingExample example;
  std::string done;  // the text already tokenized
  bool any_model_turn = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!is_model_role(messages[i].role)) continue;
    any_model_turn = true;
    const std::vector<ChatMessage> before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
    const std::vector<ChatMessage> through(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i + 1));
    const std::string prompt = encoder.chat_template->render(before, with_prompt);
    const std::string turn = encoder.chat_template->render(through, without_prompt);
    if (!starts_with(prompt, done) || !starts_with(turn, prompt)) {
      throw Error(where + ": the chat template's rendering up to message " + std::to_string(i + 1) +
                  " does not extend the rendering of the messages before it, so the model's turn cannot be located "
                  "(e.g. the template rewrites earlier turns)");
    }
    append(example, encoder.tokenizer->encode(prompt.substr(done.size())), 0);
    append(example, encoder.tokenizer->encode(turn.substr(prompt.size())), 1);
    done = turn;
  }
  if (!any_model_turn) throw Error(where + ": \"messages\" has no assistant/model message, so nothing would be learned");
  const std::string all = encoder.chat_template->render(messages, without_prompt);
  if (starts_with(all, done) && all.size() > done.size()) append(example, encoder.tokenizer->encode(all.substr(done.size())), 0);
  return example;
}

TrainingExample encode_example(const std::string& json_line, const ExampleEncoder& encoder, const std::string& where) {
  nlohmann::json line;
  try {
    line = nlohmann::json::parse(json_line);
  } catch (const std::exception& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
  if (!line.is_object()) throw Error(where + ": expected a JSON object with \"messages\" or \"text\"");
  if (line.contains("messages")) {
    if (!line["messages"].is_array()) throw Error(where + ": \"messages\" must be an array");
    ChatRequest request;
    try {
      request = parse_chat_request_json(nlohmann::json{{"messages", line["messages"]}}.dump());
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
    return encode_chat(request.messages, encoder, where);
  }
  if (line.contains("text")) {
    if (!line["text"].is_string()) throw Error(where + ": \"text\" must be a string");
    if (encoder.tokenizer == nullptr) throw Error(where + ": text data needs the model's tokenizer");
    const Tokenizer& tokenizer = *encoder.tokenizer;
    if (tokenizer.bos_id() < 0 || tokenizer.eos_id() < 0) throw Error(where + ": the tokenizer has no <bos>/<eos> token");
    TrainingExample example;
    append(example, {tokenizer.bos_id()}, 0);
    append(example, tokenizer.encode(line["text"].get<std::string>()), 1);
    append(example, {tokenizer.eos_id()}, 1);
    return example;
  }
  throw Error(where + ": a line needs \"messages\" (a chat) or \"text\" (plain text)");
}

std::vector<TrainingExample> read_training_file(const std::string& path, const ExampleEncoder& encoder) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open the training data '" + path + "'");
  std::vector<TrainingExample> examples;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    examples.push_back(encode_example(line, encoder, path + ":" + std::to_string(number)));
  }
  if (examples.empty()) throw Error(path + ": holds no examples (one JSON object per line)");
  return examples;
}

std::vector<TrainSequence> pack_examples(const std::vector<TrainingExample>& examples, const std::vector<size_t>& order,
                                         int64_t seq_len) {
  if (seq_len < 2) throw Error("the sequence length must be at least 2, got " + std::to_string(seq_len));
  std::vector<TrainSequence> sequences;
  TrainSequence current;
  auto flush = [&] {
    if (current.tokens.size() >= 2) sequences.push_back(std::move(current));
    current = TrainSequence{};
  };
  for (size_t index : order) {
    if (index >= examples.size()) throw Error("pack_examples: example index out of range");
    const TrainingExample& example = examples[index];
    const size_t length = static_cast<size_t>(seq_len);
    for (size_t start = 0; start < example.tokens.size(); start += length) {
      const size_t end = std::min(example.tokens.size(), start + length);
      if (current.tokens.size() + (end - start) > length) flush();
      const bool follows = !current.tokens.empty();
      const size_t at = current.tokens.size();
      current.tokens.insert(current.tokens.end(), example.tokens.begin() + start, example.tokens.begin() + end);
      current.target_mask.insert(current.target_mask.end(), example.target.begin() + start, example.target.begin() + end);
      if (follows) current.target_mask[at] = 0;
    }
  }
  flush();
  return sequences;
}

std::vector<size_t> shuffled_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace gemma4::train
