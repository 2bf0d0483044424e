#include "hub/file_digest.h"

#include <gemma4/error.h>

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

namespace gemma4::hub {
namespace {

std::vector<unsigned char> digest_file(const std::string& path, const EVP_MD* type, const std::string& prefix = "") {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw Error("cannot read '" + path + "' to check its digest");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), type, nullptr) != 1) throw Error("libcrypto: digest init failed");
  if (!prefix.empty()) EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  std::vector<char> buffer(1 << 20);
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), got);
  if (std::ferror(file.get())) throw Error("read error in '" + path + "' while checking its digest");
  std::vector<unsigned char> out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &length);
  out.resize(length);
  return out;
}

std::string hex(const std::vector<unsigned char>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

std::string sha256_file_hex(const std::string& path) { return hex(digest_file(path, EVP_sha256())); }

std::string git_blob_sha1_file_hex(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read '" + path + "' to check its digest");
  std::string prefix = "blob " + std::to_string(size);
  prefix.push_back('\0');
  return hex(digest_file(path, EVP_sha1(), prefix));
}

std::string md5_file_base64(const std::string& path) {
  const auto digest = digest_file(path, EVP_md5());
  std::vector<unsigned char> out(4 * ((digest.size() + 2) / 3) + 1);
  const int length = EVP_EncodeBlock(out.data(), digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(length));
}

}  // namespace gemma4::hub
