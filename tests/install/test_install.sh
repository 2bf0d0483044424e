#!/usr/bin/env bash
# Installs the built project into a temporary prefix, then builds a small outside program against it twice,
# through CMake's find_package(gemma4) and through pkg-config, and runs both.
#   bash tests/install/test_install.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$(cd "${1:?usage: test_install.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX="$WORK/prefix"

cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.log"
for f in include/gemma4/gemma4.h include/gemma4/backbone.h lib/libgemma4.a lib/cmake/gemma4/gemma4Config.cmake \
         lib/pkgconfig/gemma4.pc bin/gemma4; do
  [[ -e "$PREFIX/$f" ]] || { echo "FAIL: $f was not installed"; exit 1; }
done
if find "$PREFIX/include" -name '*.h' -print0 | xargs -0 grep -l '#include "' | grep -q .; then
  echo "FAIL: an installed header includes a project-internal header"; exit 1
fi

cmake -S "$HERE" -B "$WORK/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log"
cmake --build "$WORK/cmake-build" >"$WORK/build.log" || { cat "$WORK/build.log"; echo "FAIL: find_package build"; exit 1; }
"$WORK/cmake-build/hello_gemma4"

PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" c++ -O1 "$HERE/hello_gemma4.cc" -o "$WORK/hello_pc" \
  $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs gemma4)
"$WORK/hello_pc"
# builtin:small travels inside the installed library: the installed CLI writes text with it from an unrelated
# working directory.
small=$(cd "$WORK" && "$PREFIX/bin/gemma4" generate --model builtin:small --prompt "Psalms 23" --max-tokens 8 --greedy 2>/dev/null)
[[ -n "$small" ]] || { echo "FAIL: the installed gemma4 wrote nothing with builtin:small"; exit 1; }
echo "installed builtin:small: $small"
echo "1 passed, 0 failed"
