// core/file_io and formats/json_file: whole-file reads name the file and the OS reason; an atomic write that
// fails leaves the old file as it was and no temporary file behind.
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/file_io.h"
#include "formats/gguf_writer.h"
#include "formats/json_file.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

class Folder {
 public:
  Folder() {
    path_ = fs::temp_directory_path() / ("gemma4_file_io_" + std::to_string(::getpid()) + "_" + std::to_string(count_++));
    fs::create_directories(path_);
  }
  ~Folder() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator())); }

 private:
  fs::path path_;
  static inline int count_ = 0;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FileIo, ReadFileReturnsEveryByte) {
  Folder folder;
  const std::string bytes("a\0b\r\n\xff", 6);
  std::ofstream(folder.file("x.bin"), std::ios::binary) << bytes;
  EXPECT_EQ(read_file(folder.file("x.bin")), bytes);
  std::ofstream(folder.file("empty"), std::ios::binary).flush();
  EXPECT_EQ(read_file(folder.file("empty")), "");
}

TEST(FileIo, ReadErrorsNameTheFileAndTheReason) {
  Folder folder;
  const std::string missing = folder.file("missing.json");
  EXPECT_EQ(error_of([&] { read_file(missing); }), "cannot read '" + missing + "': No such file or directory");
  const std::string dir = folder.file("");
  EXPECT_NE(error_of([&] { read_file(dir); }).find("Is a directory"), std::string::npos);
}

TEST(FileIo, JsonFileErrorsNameTheFile) {
  Folder folder;
  std::ofstream(folder.file("bad.json")) << "{\"a\": [1,";
  const std::string message = error_of([&] { read_json_file(folder.file("bad.json")); });
  EXPECT_EQ(message.rfind(folder.file("bad.json") + ": not valid JSON (", 0), 0u) << message;
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  std::ofstream(folder.file("good.json")) << "{\"a\": [1, 2]}";
  EXPECT_EQ(read_json_file(folder.file("good.json"))["a"][1], 2);
  EXPECT_NE(error_of([&] { read_json_file(folder.file("none.json")); }).find("No such file"), std::string::npos);
}

TEST(FileIo, AtomicWriteReplacesTheFile) {
  Folder folder;
  const std::string path = folder.file("out.txt");
  write_file_atomic(path, "first version, longer");
  EXPECT_EQ(read_file(path), "first version, longer");
  write_file_atomic(path, [](FileSink& sink) {
    sink.write("sec");
    sink.write("ond", 3);
  });
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(folder.entries(), 1u);  // no temporary file left
}

TEST(FileIo, FailedAtomicWriteLeavesTheOldFile) {
  Folder folder;
  const std::string path = folder.file("model.bin");
  write_file_atomic(path, "old complete file");
  // The data source fails half-way: the half-written bytes never reach `path`.
  auto failing = [](FileSink& sink) {
    sink.write("half of the new ");
    throw Error("the data source failed");
  };
  EXPECT_EQ(error_of([&] { write_file_atomic(path, failing); }), "the data source failed");
  EXPECT_EQ(read_file(path), "old complete file");
  EXPECT_EQ(folder.entries(), 1u);
  // A target whose folder does not exist: the error names the file and the reason.
  const std::string nowhere = folder.file("no/such/folder/x.bin");
  const std::string message = error_of([&] { write_file_atomic(nowhere, "x"); });
  EXPECT_NE(message.find("cannot write '" + nowhere + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST(FileIo, GgufWriterFailureKeepsThePreviousFile) {
  Folder folder;
  const std::string path = folder.file("m.gguf");
  {
    gguf::GgufWriter good;
    good.add_u32("general.alignment_test", 7);
    good.write(path);
  }
  const std::string before = read_file(path);
  gguf::GgufWriter bad;
  bad.add_tensor("t", DType::F32, {4}, [](std::vector<uint8_t>& out) { out.resize(3); });  // 3 bytes, not 16
  const std::string message = error_of([&] { bad.write(path); });
  EXPECT_NE(message.find("produced 3 bytes, expected 16"), std::string::npos) << message;
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(folder.entries(), 1u);
}

}  // namespace
}  // namespace gemma4
