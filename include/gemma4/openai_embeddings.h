// POST /v1/embeddings, OpenAI's wire format without HTTP (the rest of the API: gemma4/openai.h).
//
//   {"model", "input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...], "encoding_format": "float" | "base64"}
//   -> {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
//       "usage": {"prompt_tokens", "total_tokens"}}
//
// "base64" sends each vector as the base64 of its little-endian float32 bytes, as OpenAI does (its clients
// ask for it by default and decode it). Other fields (user, dimensions) are ignored.
#pragma once

#include <gemma4/openai.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::serve {

// One input: text to tokenize, or token ids as sent.
struct EmbeddingInput {
  std::optional<std::string> text;
  std::vector<int32_t> tokens;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<EmbeddingInput> inputs;  // in request order; never empty, no input empty
  bool base64 = false;
};

// At most this many inputs in one request (OpenAI's own limit).
constexpr size_t kMaxEmbeddingInputs = 2048;

// Parses a request body; throws ApiError 400 naming the field ("input[2]", "input[1][0]", ...). Token ids
// must lie in [0, vocab_size).
EmbeddingRequest parse_embedding_request(std::string_view body, int64_t vocab_size);

// Standard base64 with padding.
std::string encode_base64(std::string_view bytes);

// The response for `embeddings` (one vector of `dimension` floats per input, in order, concatenated).
std::string render_embeddings(const std::vector<float>& embeddings, int64_t dimension, const std::string& model,
                              int64_t prompt_tokens, bool base64);

}  // namespace gemma4::serve
