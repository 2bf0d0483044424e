// The server's API key check: "Authorization: Bearer KEY", compared without an early exit so the time a
// wrong key takes does not tell how many of its leading bytes were right.
#include <gemma4/openai.h>

namespace gemma4::serve {

void check_api_key(std::string_view authorization, std::string_view api_key) {
  if (api_key.empty()) return;
  constexpr std::string_view kScheme = "Bearer ";
  const bool has_scheme = authorization.substr(0, kScheme.size()) == kScheme;
  const std::string_view given = has_scheme ? authorization.substr(kScheme.size()) : std::string_view{};
  // Every byte of the key is looked at whatever `given` holds; a length mismatch is folded in at the end.
  unsigned difference = given.size() == api_key.size() ? 0u : 1u;
  for (size_t i = 0; i < api_key.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0u;
    difference |= g ^ static_cast<unsigned char>(api_key[i]);
  }
  // Keep the compiler from turning the loop back into a comparison that stops at the first difference.
  volatile unsigned sink = difference;
  if (sink == 0) return;
  throw ApiError(401,
                 has_scheme ? "incorrect API key provided" :
                              "missing API key: send the header 'Authorization: Bearer KEY' (the server was started "
                              "with --api-key)",
                 "", "invalid_api_key");
}

}  // namespace gemma4::serve
