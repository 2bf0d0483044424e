#!/bin/bash
# `gemma4 generate --image / --audio`: clear errors for models without the encoder, unreadable files and a
# token prompt (the library path itself is tested in tests/unit/media_generation_test.cc).
# Usage: bash tests/cli/test_generate_media.sh BUILD_DIR
set -uo pipefail
GEMMA4="$(cd "${1:-build}" && pwd)/bin/gemma4"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
expect_error() {  # expect_error "message part" args...
  local want=$1
  shift
  local out
  if out=$("$GEMMA4" "$@" 2>&1); then
    echo "FAIL: expected an error from: $*"
    failures=$((failures + 1))
  elif [[ "$out" != *"$want"* ]]; then
    echo "FAIL: error of '$*' does not mention '$want': $out"
    failures=$((failures + 1))
  else
    echo "ok: $want"
  fi
}
printf 'P3\n2 2\n255\n0 0 0 255 255 255 10 20 30 40 50 60\n' > "$WORK/tiny.ppm"
expect_error "has no vision encoder" generate --model builtin:tiny --prompt hi --image "$WORK/tiny.ppm"
expect_error "has no audio encoder" generate --model builtin:tiny --prompt hi --audio "$WORK/none.wav"
exit $((failures > 0))
