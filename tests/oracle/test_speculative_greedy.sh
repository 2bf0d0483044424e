#!/usr/bin/env bash
# Speculative decoding on the llama.cpp oracle configs and builtin:tiny: greedy ids with --draft lookup
# (K = 1, 4, 7) must equal plain greedy decoding exactly, over 64 tokens (past every config's sliding window,
# through the KV-shared layers), and drafting must actually happen (the stderr draft line).
#
#   bash tests/oracle/test_speculative_greedy.sh BUILD_DIR [CONFIG_NAME...]
set -u -o pipefail

BUILD_DIR=${1:?usage: test_speculative_greedy.sh BUILD_DIR [CONFIG_NAME...]}
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEMMA4="$BUILD_DIR/bin/gemma4"
# A prompt that repeats itself, so prompt lookup finds n-grams to copy.
PROMPT=2,17,300,41,99,7,250,17,300,41,99,7,250,17,300,41
N=64
CONFIGS=("$@")
[ ${#CONFIGS[@]} -eq 0 ] && CONFIGS=(dense ple_kvshare kv_moe all builtin:tiny)
[ -x "$GEMMA4" ] || { echo "FAIL: $GEMMA4 not found"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_spec.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
for name in "${CONFIGS[@]}"; do
  if [ "$name" = builtin:tiny ]; then
    model=builtin:tiny
  else
    model="$TMP/$name"
    if ! "$GEMMA4" make-test-model --config "$HERE/configs/$name.json" --seed 7 --embedding-std 0.02 --out "$model" \
      >"$TMP/$name.make.log" 2>&1; then
      echo "$name: FAIL: make-test-model"; tail -5 "$TMP/$name.make.log"; failed=$((failed + 1)); continue
    fi
  fi
  run() {  # extra flags... -> ids on stdout, stats in $TMP/err
    "$GEMMA4" generate --model "$model" --tokens "$PROMPT" --max-tokens $N --print-ids --temperature 0 \
      --threads 2 "$@" 2>"$TMP/err" | grep -E '^[0-9]+(,[0-9]+)*$'
  }
  plain=$(run) || { echo "$name: FAIL: plain generate"; cat "$TMP/err"; failed=$((failed + 1)); continue; }
  ok=1
  for k in 1 4 7; do
    drafted=$(run --draft lookup --draft-max $k)
    stats=$(grep '^\[draft:' "$TMP/err" || true)
    if [ "$drafted" != "$plain" ]; then
      echo "$name: FAIL: K=$k differs from plain greedy"; echo "  plain:  $plain"; echo "  draft:  $drafted"; ok=0
    elif [ -z "$stats" ]; then
      echo "$name: FAIL: K=$k never drafted (no draft line on stderr)"; ok=0
    else
      echo "$name: K=$k identical ($(echo "$plain" | tr ',' '\n' | wc -l) tokens) $stats"
    fi
  done
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
