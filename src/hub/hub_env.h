// The environment the hub clients read (endpoints, tokens, offline mode), with the Python clients' names
// and defaults so one set of variables serves both.
#pragma once

#include <string>

namespace gemma4::hub {

std::string env(const char* name);                     // "" when unset
bool offline_from_env();                               // HF_HUB_OFFLINE in 1/ON/YES/TRUE (any case)
std::string hf_endpoint();                             // HF_ENDPOINT, else https://huggingface.co (no trailing /)
std::string hf_token_file();                           // HF_TOKEN_PATH, else $HF_HOME/token
std::string hf_token();                                // HF_TOKEN, else the token file's first line; "" if none
std::string kaggle_endpoint();                         // KAGGLE_API_ENDPOINT, else https://www.kaggle.com
std::string kaggle_credentials_file();                 // $KAGGLE_CONFIG_DIR/kaggle.json, else ~/.kaggle/kaggle.json
std::string kaggle_basic_auth();                       // "user:key" from KAGGLE_USERNAME/KAGGLE_KEY or the file
std::string modelscope_endpoint();                     // https:// + MODELSCOPE_DOMAIN (a full URL is kept)

}  // namespace gemma4::hub
