// Which files a download takes (src/hub/file_selection.h) and how handles parse (src/hub/hub_downloads.h).
#include <gtest/gtest.h>

#include <gemma4/error.h>
#include <gemma4/hub.h>

#include "hub/file_selection.h"
#include "hub/hub_downloads.h"

namespace gemma4::hub {
namespace {

using Files = std::vector<std::string>;

TEST(HubFileSelection, SafetensorsRepositoryTakesWhatLoadingReads) {
  const Files repo = {".gitattributes", "README.md", "chat_template.jinja", "config.json", "generation_config.json",
                      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                      "model.safetensors.index.json", "original/consolidated.pth", "preprocessor_config.json",
                      "processor_config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                      "onnx/model.onnx", "model-Q4_K_M.gguf"};
  const FileSelection got = select_files(repo, {}, "", "hf://a/b");
  const Files expected = {"chat_template.jinja", "config.json", "generation_config.json",
                          "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                          "model.safetensors.index.json", "preprocessor_config.json", "processor_config.json",
                          "tokenizer.json", "tokenizer.model", "tokenizer_config.json"};
  EXPECT_EQ(got.files, expected);
  EXPECT_EQ(got.model_file, "");
}

TEST(HubFileSelection, GgufRepositoryNeedsAChoiceAndTakesAllShardsOfIt) {
  const Files repo = {"README.md", "gemma-Q4_K_M.gguf", "gemma-Q8_0-00001-of-00002.gguf",
                      "gemma-Q8_0-00002-of-00002.gguf", "mmproj-gemma-f16.gguf"};
  try {
    select_files(repo, {}, "", "hf://a/b");
    FAIL() << "an ambiguous GGUF repository was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("2 GGUF models"), std::string::npos) << message;
    EXPECT_NE(message.find("gemma-Q4_K_M.gguf"), std::string::npos) << message;
    EXPECT_NE(message.find("--quant"), std::string::npos) << message;
  }
  const FileSelection q8 = select_files(repo, {}, "q8_0", "hf://a/b");
  EXPECT_EQ(q8.files, (Files{"gemma-Q8_0-00001-of-00002.gguf", "gemma-Q8_0-00002-of-00002.gguf", "mmproj-gemma-f16.gguf"}));
  EXPECT_EQ(q8.model_file, "gemma-Q8_0-00001-of-00002.gguf");
  EXPECT_EQ(select_files(repo, {}, "Q4_K_M", "hf://a/b").model_file, "gemma-Q4_K_M.gguf");
  EXPECT_THROW(select_files(repo, {}, "IQ2_XS", "hf://a/b"), Error);
  // --include picks exactly the matching files.
  const FileSelection included = select_files(repo, {"*Q4_K_M*"}, "", "hf://a/b");
  EXPECT_EQ(included.files, Files{"gemma-Q4_K_M.gguf"});
  EXPECT_EQ(included.model_file, "gemma-Q4_K_M.gguf");
  EXPECT_THROW(select_files(repo, {"*.onnx"}, "", "hf://a/b"), Error);
}

TEST(HubFileSelection, KerasPresetTakesAllButDocumentation) {
  const Files repo = {"README.md", "assets/tokenizer/vocabulary.spm", "config.json", "metadata.json",
                      "model.weights.h5", "preprocessor.json", "tokenizer.json", "task.json"};
  EXPECT_EQ(select_files(repo, {}, "", "kaggle://a/b/c/d").files,
            (Files{"assets/tokenizer/vocabulary.spm", "config.json", "metadata.json", "model.weights.h5",
                   "preprocessor.json", "tokenizer.json", "task.json"}));
}

TEST(HubHandles, ParseRevisionAndQuantization) {
  const RepoHandle plain = parse_repo_handle("google/gemma-4-E2B-it", "hf://");
  EXPECT_EQ(plain.id(), "google/gemma-4-E2B-it");
  EXPECT_EQ(plain.revision, "");
  const RepoHandle full = parse_repo_handle("someone/gemma.GGUF@v1.0:Q4_K_M", "hf://");
  EXPECT_EQ(full.id(), "someone/gemma.GGUF");
  EXPECT_EQ(full.revision, "v1.0");
  EXPECT_EQ(full.quant, "Q4_K_M");
  for (const char* bad : {"google", "google/", "/repo", "a/b/c", "a/..", "a/b@", "a/b:", "a/b c", "a/b@../x"}) {
    EXPECT_THROW(parse_repo_handle(bad, "hf://"), Error) << bad;
  }
  EXPECT_TRUE(is_model_handle("hf://a/b"));
  EXPECT_TRUE(is_model_handle("modelscope://a/b"));
  EXPECT_TRUE(is_model_handle("gemma4_2b"));
  EXPECT_FALSE(is_model_handle("/some/folder"));
}

TEST(HubGlob, FnmatchAsHuggingfaceHub) {
  EXPECT_TRUE(glob_match("*.safetensors", "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(glob_match("*.json", "sub/config.json"));  // '*' crosses folders, as fnmatch.fnmatch
  EXPECT_FALSE(glob_match("*.json", "model.safetensors"));
}

}  // namespace
}  // namespace gemma4::hub
