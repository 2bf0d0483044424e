#!/usr/bin/env bash
# `generate --raw` puts a plain-text prompt behind <bos> when the tokenizer adds one (as base models expect and
# the GGUF's tokenizer.ggml.add_bos_token / tokenizer_config.json's add_bos_token say), and not when it says no.
#   bash tests/cli/test_raw_bos.sh BUILD_DIR
set -u -o pipefail
BUILD_DIR=${1:?usage: test_raw_bos.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
GEMMA4="$BUILD_DIR/bin/gemma4"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
check() { if [ "$1" = "$2" ]; then passed=$((passed + 1)); echo "PASS: $3"; else failed=$((failed + 1)); echo "FAIL: $3: '$1' vs '$2'"; fi; }
ids() { "$GEMMA4" generate "$@" --greedy --print-ids --max-tokens 5 2>"$TMP/err" || cat "$TMP/err"; }

# A Hugging Face folder with the built-in model's tokenizer (add_bos unset: Gemma's default, yes).
"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/dense.json" --seed 3 --out "$TMP/m" >/dev/null 2>&1 ||
  { echo "FAIL: make-test-model"; echo "0 passed, 1 failed"; exit 1; }
hi=$(echo "Hi there" | "$GEMMA4" tokenize --model "$TMP/m" | tr -d '[] ')
check "$(ids --model "$TMP/m" --raw --prompt "Hi there")" "$(ids --model "$TMP/m" --tokens "2,$hi")" "--raw adds <bos> by default"
check "$(ids --model "$TMP/m" --raw --prompt "<bos>Hi there")" "$(ids --model "$TMP/m" --tokens "2,$hi")" \
  "--raw does not add a second <bos>"
echo '{"add_bos_token": false}' >"$TMP/m/tokenizer_config.json"
check "$(ids --model "$TMP/m" --raw --prompt "Hi there")" "$(ids --model "$TMP/m" --tokens "$hi")" \
  "add_bos_token false: --raw sends the text as it is"
"$GEMMA4" convert --model "$TMP/m" --out "$TMP/m.gguf" >/dev/null 2>&1
check "$(ids --model "$TMP/m.gguf" --raw --prompt "Hi there")" "$(ids --model "$TMP/m.gguf" --tokens "2,$hi")" \
  "a GGUF (add_bos_token true) adds <bos>"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
