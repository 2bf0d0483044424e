// Digests of downloaded files (OpenSSL's libcrypto): sha256 for Hugging Face LFS blobs and ModelScope files,
// md5 for Kaggle's X-Goog-Hash, git's blob sha1 for Hugging Face's small (non-LFS) files.
#pragma once

#include <string>

namespace gemma4::hub {

// Lower-case hex digests of a whole file; throw gemma4::Error naming the file if it cannot be read.
std::string sha256_file_hex(const std::string& path);
std::string git_blob_sha1_file_hex(const std::string& path);  // sha1("blob <size>\0" + content)
// Base64 of the raw md5 digest, as Google Cloud Storage writes it in X-Goog-Hash: md5=<base64>.
std::string md5_file_base64(const std::string& path);

}  // namespace gemma4::hub
