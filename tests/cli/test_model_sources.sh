#!/usr/bin/env bash
# `gemma4 generate --model X` for every kind of X a user may have: a Hugging Face folder, a GGUF file, a
# KerasHub preset folder, cached hf:// and kaggle:// handles and a named preset found in the caches. The same
# weights must give the same greedy tokens everywhere. Then bad input: each gives a clear error, no crash.
# Usage: test_model_sources.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_model_sources.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${GEMMA4_TEST_DATA:-$HERE/../data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

PROMPT=2,17,300,41,9
greedy() {  # greedy ids for model $1 (extra environment in $2...)
  local model=$1; shift
  env "$@" "$GEMMA4" generate --model "$model" --tokens $PROMPT --max-tokens 12 --greedy --print-ids 2>"$TMP/err" | head -1
}

"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/all.json" --seed 3 --embedding-std 0.02 --out "$TMP/hf" 2>/dev/null
"$GEMMA4" convert --model "$TMP/hf" --out "$TMP/model.gguf" --type f32 >/dev/null 2>&1
"$GEMMA4" convert --model "$TMP/model.gguf" --to hf "$TMP/back" >/dev/null 2>&1
reference=$(greedy "$TMP/hf")
echo "reference greedy ids: $reference"
[[ -n $reference ]] && pass "Hugging Face folder generates" || fail "Hugging Face folder generates ($(cat "$TMP/err"))"
[[ $(greedy "$TMP/model.gguf") == "$reference" ]] && pass "GGUF file gives the same tokens" || fail "GGUF file ($(cat "$TMP/err"))"
[[ $(greedy "$TMP/back") == "$reference" ]] && pass "GGUF -> Hugging Face round trip gives the same tokens" || fail "round trip"

# A cached hf:// handle (Hugging Face hub cache layout, found through HF_HUB_CACHE).
snapshot="$TMP/hub/models--someone--tiny-gemma4/snapshots/0123abcd"
mkdir -p "$snapshot" "$TMP/hub/models--someone--tiny-gemma4/refs"
cp "$TMP/hf"/* "$snapshot/"
echo 0123abcd > "$TMP/hub/models--someone--tiny-gemma4/refs/main"
[[ $(greedy hf://someone/tiny-gemma4 HF_HUB_CACHE="$TMP/hub") == "$reference" ]] && pass "hf:// handle from the hub cache" ||
  fail "hf:// handle ($(cat "$TMP/err"))"

# KerasHub preset folder and kaggle:// handle / named preset in the KaggleHub cache (the text_all fixture).
keras="$DATA/kerashub_fixtures/text_all/keras_preset"
keras_ids=$(greedy "$keras")
hf_ids=$(greedy "$DATA/kerashub_fixtures/text_all")
[[ -n $keras_ids && $keras_ids == "$hf_ids" ]] && pass "KerasHub preset folder = its Hugging Face twin" ||
  fail "KerasHub preset folder ($keras_ids vs $hf_ids; $(cat "$TMP/err"))"
kaggle="$TMP/kaggle/models/keras/gemma4/keras/gemma4_instruct_2b/2"
mkdir -p "$kaggle" && cp -r "$keras"/* "$kaggle/"
[[ $(greedy kaggle://keras/gemma4/keras/gemma4_instruct_2b/2 KAGGLEHUB_CACHE="$TMP/kaggle") == "$keras_ids" ]] &&
  pass "kaggle:// handle from the KaggleHub cache" || fail "kaggle:// handle ($(cat "$TMP/err"))"
[[ $(greedy gemma4_instruct_2b KAGGLEHUB_CACHE="$TMP/kaggle" HF_HUB_CACHE="$TMP/empty") == "$keras_ids" ]] &&
  pass "named preset found in the caches" || fail "named preset ($(cat "$TMP/err"))"

# Bad input: a clear message naming the problem, exit status 1, never a crash (status > 128) or a hang.
expect_error() {  # description, expected text, command...
  local what=$1 expected=$2; shift 2
  timeout 60 "$@" >/dev/null 2>"$TMP/err"
  local status=$?
  if [[ $status -eq 1 ]] && grep -qF -- "$expected" "$TMP/err"; then
    pass "$what: $(head -c 160 "$TMP/err" | tr '\n' ' ')"
  else
    fail "$what (status $status): $(head -c 300 "$TMP/err")"
  fi
}
expect_error "preset not in the caches" "is not on disk" env HF_HUB_CACHE="$TMP/empty" KAGGLEHUB_CACHE="$TMP/empty" "$GEMMA4" generate --model gemma4_31b --tokens 2
expect_error "unknown preset name" "neither a built-in preset" "$GEMMA4" generate --model gemma5_tiny --tokens 2
expect_error "no such path" "does not exist" "$GEMMA4" generate --model "$TMP/nothing/here" --tokens 2
head -c 1000 "$TMP/model.gguf" > "$TMP/truncated.gguf"
expect_error "truncated GGUF" "truncated.gguf" "$GEMMA4" generate --model "$TMP/truncated.gguf" --tokens 2
mkdir -p "$TMP/broken" && cp "$TMP/hf/config.json" "$TMP/broken/" && head -c 5000 "$TMP/hf/model.safetensors" > "$TMP/broken/model.safetensors"
expect_error "truncated safetensors" "model.safetensors" "$GEMMA4" generate --model "$TMP/broken" --tokens 2
expect_error "over-long prompt" "context holds 8" "$GEMMA4" generate --model "$TMP/hf" --tokens 2,3,4,5,6,7,8,9,10,11 --context 8
expect_error "token outside the vocabulary" "outside the vocabulary" "$GEMMA4" generate --model "$TMP/hf" --tokens 2,99999
expect_error "malformed token list" "is not a token id" "$GEMMA4" generate --model "$TMP/hf" --tokens 2,x
expect_error "bad sampling option" "top_p" "$GEMMA4" generate --model "$TMP/hf" --tokens 2 --top-p 0

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
