// Training data: JSON lines, each {"messages": [...]} (rendered through the model's chat template, loss on the
// model's turns only) or {"text": "..."} (<bos> text <eos>, loss on every token), tokenized and packed into
// sequences of at most a given length.
#pragma once

#include <gemma4/chat_template.h>
#include <gemma4/tokenizer.h>

#include <cstdint>
#include <string>
#include <vector>

#include "train/gradients.h"

namespace gemma4::train {

struct TrainingExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> target;  // [tokens.size()]: 1 where the token is predicted (has a loss)
};

struct ExampleEncoder {
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;
  ChatTemplateOptions template_options;  // bos/eos text as the tokenizer spells them; add_generation_prompt is set here
};

// One JSON line. `where` ("train.jsonl:12") prefixes errors.
TrainingExample encode_example(const std::string& json_line, const ExampleEncoder& encoder, const std::string& where);

// The tokens of a chat: the rendered conversation cut at its turn boundaries, found by rendering prefixes.
// For each model message i: P = render(messages[0..i), with the generation prompt), Q = render(messages[0..i]);
// Q's text after P is the model's turn (loss), P's text after the previous Q is context (no loss). Each piece is
// tokenized on its own. A template whose renderings of prefixes do not extend each other is an error.
TrainingExample encode_chat(const std::vector<ChatMessage>& messages, const ExampleEncoder& encoder, const std::string& where);

// Every non-blank line of a JSON-lines file.
std::vector<TrainingExample> read_training_file(const std::string& path, const ExampleEncoder& encoder);

// Examples in `order`, each cut into pieces of at most seq_len tokens, packed greedily in that order into
// sequences of at most seq_len tokens (a piece that does not fit starts a new sequence). A piece's first token is
// never a target when it follows another piece in the same sequence.
std::vector<TrainSequence> pack_examples(const std::vector<TrainingExample>& examples, const std::vector<size_t>& order,
                                         int64_t seq_len);

// 0..n-1 shuffled by Fisher-Yates with a mt19937_64 seeded by seed (the same on every platform).
std::vector<size_t> shuffled_order(size_t n, uint64_t seed);

}  // namespace gemma4::train
