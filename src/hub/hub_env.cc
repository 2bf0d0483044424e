#include "hub/hub_env.h"

#include <gemma4/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace gemma4::hub {
namespace {

namespace fs = std::filesystem;

std::string home() {
  const std::string value = env("HOME");
  return value.empty() ? "." : value;
}

std::string strip(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

std::string without_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

bool offline_from_env() {
  std::string value = strip(env("HF_HUB_OFFLINE"));
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::toupper(c); });
  return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

std::string hf_endpoint() {
  const std::string value = without_trailing_slashes(strip(env("HF_ENDPOINT")));
  return value.empty() ? "https://huggingface.co" : value;
}

std::string hf_token_file() {
  if (!env("HF_TOKEN_PATH").empty()) return env("HF_TOKEN_PATH");
  if (!env("HF_HOME").empty()) return (fs::path(env("HF_HOME")) / "token").string();
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "token").string();
  return (fs::path(home()) / ".cache" / "huggingface" / "token").string();
}

std::string hf_token() {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    const std::string value = strip(env(name));
    if (!value.empty()) return value;
  }
  std::ifstream file(hf_token_file());
  std::string line;
  if (file && std::getline(file, line)) return strip(line);
  return "";
}

std::string kaggle_endpoint() {
  const std::string value = without_trailing_slashes(strip(env("KAGGLE_API_ENDPOINT")));
  return value.empty() ? "https://www.kaggle.com" : value;
}

std::string kaggle_credentials_file() {
  const std::string dir = env("KAGGLE_CONFIG_DIR");
  return (fs::path(dir.empty() ? (fs::path(home()) / ".kaggle").string() : dir) / "kaggle.json").string();
}

std::string kaggle_basic_auth() {
  if (!env("KAGGLE_USERNAME").empty() && !env("KAGGLE_KEY").empty()) {
    return env("KAGGLE_USERNAME") + ":" + env("KAGGLE_KEY");
  }
  const std::string path = kaggle_credentials_file();
  std::ifstream file(path);
  if (!file) return "";
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(file);
  } catch (const std::exception&) {
    throw Error("Kaggle credentials file '" + path + "' is not valid JSON");
  }
  if (!json.is_object() || !json.contains("username") || !json.contains("key") || !json["username"].is_string() ||
      !json["key"].is_string()) {
    throw Error("Kaggle credentials file '" + path + "' needs string fields \"username\" and \"key\"");
  }
  return json["username"].get<std::string>() + ":" + json["key"].get<std::string>();
}

std::string modelscope_endpoint() {
  const std::string domain = without_trailing_slashes(strip(env("MODELSCOPE_DOMAIN")));
  if (domain.empty()) return "https://www.modelscope.cn";
  if (domain.find("://") != std::string::npos) return domain;
  return "https://" + domain;
}


}  // namespace gemma4::hub
