#include <gemma4/openai_embeddings.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "text/chat_message_json.h"

namespace gemma4::serve {
namespace {

using Json = nlohmann::json;
using RequestJson = text::OrderedJson;

ApiError bad_input(const std::string& message, const std::string& param, const std::string& code = "invalid_value") {
  return ApiError(400, message, param, code);
}

RequestJson parse_object(std::string_view body) {
  RequestJson j;
  try {
    j = RequestJson::parse(body.begin(), body.end());
  } catch (const RequestJson::parse_error& e) {
    throw ApiError(400, "the request body is not valid JSON (byte " + std::to_string(e.byte) + ")", "", "invalid_json");
  }
  if (!j.is_object()) {
    throw ApiError(400, std::string("the request body must be a JSON object, not ") + text::json_type_name(j), "",
                   "invalid_json");
  }
  return j;
}

int32_t token_id(const RequestJson& value, int64_t vocab_size, const std::string& param) {
  if (!value.is_number_integer()) throw bad_input("'" + param + "' must be a token id (an integer)", param, "invalid_type");
  const bool in_range = value.is_number_unsigned() ? value.get<uint64_t>() < static_cast<uint64_t>(vocab_size)
                                                   : value.get<int64_t>() >= 0 && value.get<int64_t>() < vocab_size;
  if (!in_range) {
    throw bad_input("'" + param + "' is " + value.dump() + ", not a token id of this model's vocabulary [0, " +
                        std::to_string(vocab_size) + ")",
                    param);
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

std::vector<int32_t> token_list(const RequestJson& list, int64_t vocab_size, const std::string& param) {
  if (list.empty()) throw bad_input("'" + param + "' is an empty list of token ids", param);
  std::vector<int32_t> tokens;
  tokens.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) tokens.push_back(token_id(list[i], vocab_size, param + "[" + std::to_string(i) + "]"));
  return tokens;
}

EmbeddingInput text_input(const RequestJson& value, const std::string& param) {
  const std::string text = value.get<std::string>();
  if (text.empty()) throw bad_input("'" + param + "' is an empty string", param);
  return {text, {}};
}

}  // namespace

EmbeddingRequest parse_embedding_request(std::string_view body, int64_t vocab_size) {
  try {
    const RequestJson j = parse_object(body);
    EmbeddingRequest request;
    if (auto model = text::string_field(j, "model", "model")) request.model = *model;
    if (auto format = text::string_field(j, "encoding_format", "encoding_format")) {
      if (*format != "float" && *format != "base64") {
        throw bad_input("'encoding_format' must be \"float\" or \"base64\", got \"" + *format + "\"", "encoding_format");
      }
      request.base64 = *format == "base64";
    }
    const RequestJson* input = text::find_field(j, "input");
    if (!input) throw bad_input("'input' is required", "input", "missing_field");
    if (input->is_string()) {
      request.inputs.push_back(text_input(*input, "input"));
    } else if (!input->is_array()) {
      throw text::wrong_type("input", "a string, a list of strings, a list of token ids or a list of lists of them", *input);
    } else if (input->empty()) {
      throw bad_input("'input' is an empty list", "input");
    } else if (input->size() > kMaxEmbeddingInputs) {
      throw bad_input("'input' has " + std::to_string(input->size()) + " entries; at most " +
                          std::to_string(kMaxEmbeddingInputs) + " are taken in one request",
                      "input");
    } else if ((*input)[0].is_number()) {  // one list of token ids
      request.inputs.push_back({std::nullopt, token_list(*input, vocab_size, "input")});
    } else {
      for (size_t i = 0; i < input->size(); ++i) {
        const RequestJson& item = (*input)[i];
        const std::string param = "input[" + std::to_string(i) + "]";
        if (item.is_string()) {
          request.inputs.push_back(text_input(item, param));
        } else if (item.is_array()) {
          request.inputs.push_back({std::nullopt, token_list(item, vocab_size, param)});
        } else {
          throw text::wrong_type(param, "a string or a list of token ids", item);
        }
      }
    }
    return request;
  } catch (const text::JsonFieldError& e) {
    throw ApiError(400, e.what(), e.param(), e.code());
  }
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t k = 0; k < 3; ++k) group = (group << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

std::string render_embeddings(const std::vector<float>& embeddings, int64_t dimension, const std::string& model,
                              int64_t prompt_tokens, bool base64) {
  Json data = Json::array();
  const size_t count = dimension > 0 ? embeddings.size() / static_cast<size_t>(dimension) : 0;
  for (size_t i = 0; i < count; ++i) {
    const float* row = embeddings.data() + i * static_cast<size_t>(dimension);
    Json vector;
    if (base64) {
      std::string bytes(static_cast<size_t>(dimension) * 4, '\0');
      for (int64_t k = 0; k < dimension; ++k) {  // little-endian whatever this machine is
        uint32_t bits;
        std::memcpy(&bits, row + k, 4);
        for (int b = 0; b < 4; ++b) bytes[static_cast<size_t>(k) * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
      }
      vector = encode_base64(bytes);
    } else {
      vector = Json(std::vector<float>(row, row + dimension));
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(vector)}});
  }
  Json body = {{"object", "list"},
               {"data", std::move(data)},
               {"model", model},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace gemma4::serve
