// The server's API key check, the /v1/embeddings wire format and the /metrics exposition text.
#include <gemma4/openai_embeddings.h>
#include <gemma4/serve_metrics.h>

#include <gtest/gtest.h>

#include <cstring>

namespace gemma4::serve {
namespace {

int key_status(std::string_view header, std::string_view key) {
  try {
    check_api_key(header, key);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), "invalid_api_key");
    return e.status();
  }
  return 200;
}

TEST(ServeApiKey, BearerSchemeAndExactKey) {
  EXPECT_EQ(key_status("Bearer abc", "abc"), 200);
  EXPECT_EQ(key_status("", ""), 200);  // no key configured
  EXPECT_EQ(key_status("", "abc"), 401);
  EXPECT_EQ(key_status("abc", "abc"), 401);
  EXPECT_EQ(key_status("Bearer ab", "abc"), 401);
  EXPECT_EQ(key_status("Bearer abcd", "abc"), 401);
  EXPECT_EQ(key_status("Bearer abd", "abc"), 401);
  EXPECT_EQ(key_status("bearer abc", "abc"), 401);
  EXPECT_EQ(error_type(401), "invalid_request_error");
}

TEST(ServeEmbeddings, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(decode_base64(encode_base64(std::string("\x00\xff\x80", 3)), "x"), std::string("\x00\xff\x80", 3));
}

TEST(ServeEmbeddings, InputShapes) {
  EmbeddingRequest r = parse_embedding_request(R"({"input": "hi"})", 10);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(*r.inputs[0].text, "hi");
  EXPECT_FALSE(r.base64);
  r = parse_embedding_request(R"({"input": ["a", "b"], "encoding_format": "base64"})", 10);
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(*r.inputs[1].text, "b");
  EXPECT_TRUE(r.base64);
  r = parse_embedding_request(R"({"input": [1, 2, 9]})", 10);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].tokens, (std::vector<int32_t>{1, 2, 9}));
  r = parse_embedding_request(R"({"input": [[1], [2, 3]], "model": "m"})", 10);
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[1].tokens, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(r.model, "m");
}

std::string refusal_param(const char* body) {
  try {
    parse_embedding_request(body, 10);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.param();
  }
  return "accepted";
}

TEST(ServeEmbeddings, RefusalsNameTheField) {
  EXPECT_EQ(refusal_param(R"({})"), "input");
  EXPECT_EQ(refusal_param(R"({"input": ""})"), "input");
  EXPECT_EQ(refusal_param(R"({"input": []})"), "input");
  EXPECT_EQ(refusal_param(R"({"input": [1, 10]})"), "input[1]");
  EXPECT_EQ(refusal_param(R"({"input": [1, -1]})"), "input[1]");
  EXPECT_EQ(refusal_param(R"({"input": [1, 2.5]})"), "input[1]");
  EXPECT_EQ(refusal_param(R"({"input": [[1], []]})"), "input[1]");
  EXPECT_EQ(refusal_param(R"({"input": ["a", 3]})"), "input[1]");
  EXPECT_EQ(refusal_param(R"({"input": 3})"), "input");
  EXPECT_EQ(refusal_param(R"({"input": [1], "encoding_format": "int8"})"), "encoding_format");
  EXPECT_EQ(refusal_param(R"([1])"), "");
}

TEST(ServeEmbeddings, RenderFloatAndBase64) {
  const std::vector<float> rows = {1.0f, -2.5f, 0.25f, 3.0f};
  const std::string floats = render_embeddings(rows, 2, "m", 7, false);
  EXPECT_NE(floats.find(R"("embedding":[1.0,-2.5],"index":0,"object":"embedding")"), std::string::npos) << floats;
  EXPECT_NE(floats.find(R"("index":1)"), std::string::npos);
  EXPECT_NE(floats.find(R"("usage":{"prompt_tokens":7,"total_tokens":7})"), std::string::npos);
  // 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0 (IEEE 754, little-endian)
  const std::string packed = render_embeddings(rows, 2, "m", 7, true);
  EXPECT_NE(packed.find("\"" + encode_base64(std::string("\x00\x00\x80\x3f\x00\x00\x20\xc0", 8)) + "\""),
            std::string::npos) << packed;
}

TEST(ServeMetrics, ExpositionText) {
  ServerMetrics metrics;
  metrics.count_request("/v1/models", 200);
  metrics.count_request("/v1/models", 200);
  metrics.count_request("other", 404);
  metrics.add_prompt_tokens(5);
  metrics.add_generated_tokens(3);
  metrics.request_started();
  metrics.observe_time_to_first_token(0.02);   // bucket le=0.025
  metrics.observe_time_to_first_token(100.0);  // above every bound
  metrics.observe_inter_token(0.001);          // le=0.001 includes its bound
  const std::string text = metrics.render();
  for (const char* line : {"gemma4_requests_total{endpoint=\"/v1/models\",status=\"200\"} 2\n",
                           "gemma4_requests_total{endpoint=\"other\",status=\"404\"} 1\n",
                           "gemma4_prompt_tokens_total 5\n", "gemma4_generated_tokens_total 3\n",
                           "gemma4_requests_in_flight 1\n", "# TYPE gemma4_inter_token_seconds histogram\n",
                           "gemma4_time_to_first_token_seconds_bucket{le=\"0.01\"} 0\n",
                           "gemma4_time_to_first_token_seconds_bucket{le=\"0.025\"} 1\n",
                           "gemma4_time_to_first_token_seconds_bucket{le=\"60\"} 1\n",
                           "gemma4_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n",
                           "gemma4_time_to_first_token_seconds_sum 100.02\n",
                           "gemma4_time_to_first_token_seconds_count 2\n",
                           "gemma4_inter_token_seconds_bucket{le=\"0.001\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
  }
  EXPECT_EQ(metrics_endpoint_label("/v1/embeddings"), "/v1/embeddings");
  EXPECT_EQ(metrics_endpoint_label("/v1/embeddings/x"), "other");
}

}  // namespace
}  // namespace gemma4::serve
