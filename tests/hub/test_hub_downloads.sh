#!/usr/bin/env bash
# Downloads from a fake hub on 127.0.0.1 (tests/hub/fake_hub.py: the Hugging Face hub, Kaggle and ModelScope
# endpoints): a fresh download that then generates, the cache layout read by an independent checker, resume
# after a cut connection, a checksum mismatch, 401/403/404 messages, offline mode, two concurrent pulls, GGUF
# choice, Kaggle (with paging and md5) and ModelScope, and a named preset. Nothing contacts a real host.
# Usage: test_hub_downloads.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_hub_downloads.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${GEMMA4_TEST_DATA:-$HERE/../data}
PY=/usr/bin/python3
TMP=$(mktemp -d)
HUB_PID=
cleanup() { [[ -n $HUB_PID ]] && kill "$HUB_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
unset HF_HUB_OFFLINE HF_TOKEN HUGGING_FACE_HUB_TOKEN KAGGLE_USERNAME KAGGLE_KEY

# The repositories the fake hub serves.
ROOT="$TMP/root"
"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/dense.json" --seed 3 --embedding-std 0.02 --out "$TMP/src" 2>/dev/null
mkdir -p "$ROOT/hf/acme"
for repo in tiny cut corrupt slow gated; do
  mkdir -p "$ROOT/hf/acme/$repo/extra" && cp "$TMP/src"/* "$ROOT/hf/acme/$repo/"
  echo "# a model card" > "$ROOT/hf/acme/$repo/README.md"
  head -c 4096 /dev/urandom > "$ROOT/hf/acme/$repo/extra/optimizer.bin"  # not needed: must not be fetched
done
"$GEMMA4" convert --model "$TMP/src" --out "$TMP/tiny.gguf" --type f32 >/dev/null 2>&1
mkdir -p "$ROOT/hf/acme/tiny-gguf"
cp "$TMP/tiny.gguf" "$ROOT/hf/acme/tiny-gguf/tiny-F32.gguf"
cp "$TMP/tiny.gguf" "$ROOT/hf/acme/tiny-gguf/tiny-Q8_0.gguf"
echo "# GGUF card" > "$ROOT/hf/acme/tiny-gguf/README.md"
keras="$DATA/kerashub_fixtures/text_all/keras_preset"
mkdir -p "$ROOT/kaggle/keras/gemma4/keras/gemma4_instruct_2b/1" "$ROOT/kaggle/keras/gemma4/keras/gemma4_instruct_2b/2"
cp "$keras"/* "$ROOT/kaggle/keras/gemma4/keras/gemma4_instruct_2b/2/"
cp "$keras/config.json" "$ROOT/kaggle/keras/gemma4/keras/gemma4_instruct_2b/1/"
mkdir -p "$ROOT/modelscope/acme/tiny.v1" && cp "$TMP/src"/* "$ROOT/modelscope/acme/tiny.v1/"

LOG="$TMP/hub.log"
: > "$LOG"
timeout 300 $PY "$HERE/fake_hub.py" --root "$ROOT" --port-file "$TMP/port" --log "$LOG" --lifetime 280 \
  --gated acme/gated=hf_good_token --cut-once acme/cut/model.safetensors --corrupt acme/corrupt/model.safetensors \
  --slow acme/slow/model.safetensors --kaggle-auth kuser:kkey &
HUB_PID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.1; done
[[ -s $TMP/port ]] || { echo "FAIL: the fake hub did not start"; exit 1; }
URL="http://127.0.0.1:$(cat "$TMP/port")"
echo "fake hub at $URL"
export HF_ENDPOINT="$URL" HF_HUB_CACHE="$TMP/cache" HF_HOME="$TMP/hf_home" KAGGLE_API_ENDPOINT="$URL" \
  KAGGLEHUB_CACHE="$TMP/kaggle" KAGGLE_CONFIG_DIR="$TMP/no_kaggle_config" MODELSCOPE_DOMAIN="$URL" \
  MODELSCOPE_CACHE="$TMP/modelscope" GEMMA4_HUB_STALL_SECONDS=20

run() { timeout 120 "$GEMMA4" "$@" 2>"$TMP/err"; }
greedy() { run generate --model "$1" --tokens 2,17,300,41,9 --max-tokens 8 --greedy --print-ids --quiet "${@:2}" | head -1; }
commit_of() { $PY -c "import json,urllib.request;print(json.load(urllib.request.urlopen('$URL/api/models/$1/revision/main'))['sha'])"; }
fetches() { grep -cE "^GET /cdn/$1[? ]" "$LOG"; }

reference=$(greedy "$TMP/src")
echo "reference greedy ids: $reference"

# 1. Fresh download, then generate from the handle (cached now: no further request).
path=$(run pull hf://acme/tiny)
commit=$(commit_of acme/tiny)
[[ $path == "$TMP/cache/models--acme--tiny/snapshots/$commit" ]] && pass "pull prints the snapshot folder" ||
  fail "pull printed '$path' ($(cat "$TMP/err"))"
check=$($PY "$HERE/hf_cache_check.py" "$TMP/cache" acme/tiny "$commit" "$TMP/src" config.json model.safetensors tokenizer.json)
[[ $check == ok ]] && pass "cache layout as huggingface_hub reads it (refs, relative symlinks, blobs by etag)" ||
  fail "cache layout: $check"
[[ ! -e $path/README.md && ! -e $path/extra ]] && pass "only the needed files (no README, no extra/)" || fail "unneeded files fetched: $(ls -R "$path")"
requests=$(wc -l < "$LOG")
ids=$(greedy hf://acme/tiny)
[[ -n $reference && $ids == "$reference" ]] && pass "generate --model hf://acme/tiny gives the source model's tokens" ||
  fail "generate from the download: '$ids' vs '$reference' ($(cat "$TMP/err"))"
[[ $(wc -l < "$LOG") -eq $requests ]] && pass "a cached handle needs no request" || fail "requests after caching: $(tail -3 "$LOG")"
rm -rf "$TMP/cache2"
ids=$(HF_HUB_CACHE="$TMP/cache2" greedy hf://acme/tiny)
[[ $ids == "$reference" && -d $TMP/cache2/models--acme--tiny/blobs ]] && pass "--model hf:// downloads what is not cached" ||
  fail "--model download: '$ids' ($(cat "$TMP/err"))"

# 2. Resume after a cut connection: the second request starts where the first stopped.
path=$(run pull hf://acme/cut)
size=$(stat -c %s "$TMP/src/model.safetensors")
range=$(grep "^GET /cdn/acme/cut/model.safetensors" "$LOG" | sed -n 2p | awk '{print $3}')
if [[ -n $path && $range == "bytes=$((size / 2))-" ]] && cmp -s "$path/model.safetensors" "$TMP/src/model.safetensors"; then
  pass "resume after a cut connection (second request: Range $range of $size bytes)"
else
  fail "resume: path '$path', second range '$range' ($(cat "$TMP/err"); $(grep cut "$LOG"))"
fi

# 3. Checksum mismatch: rejected, and nothing complete-looking left behind.
run pull hf://acme/corrupt >/dev/null
status=$?
repo="$TMP/cache/models--acme--corrupt"
leftovers=$(find "$repo" \( -name '*.incomplete' -o -path '*/snapshots/*/model.safetensors' \) 2>/dev/null)
sha=$(sha256sum "$TMP/src/model.safetensors" | cut -d' ' -f1)
if [[ $status -eq 1 ]] && grep -q "checksum mismatch" "$TMP/err" && grep -q "$sha" "$TMP/err" && grep -q "deleted" "$TMP/err" &&
   [[ -z $leftovers && ! -e $repo/blobs/$sha ]]; then
  pass "checksum mismatch rejected, partial deleted: $(grep -o 'checksum mismatch[^(]*' "$TMP/err" | head -c 120)"
else
  fail "checksum mismatch (status $status, leftovers '$leftovers'): $(cat "$TMP/err")"
fi
ids=$(greedy hf://acme/corrupt)
[[ -z $ids ]] && grep -q "checksum mismatch" "$TMP/err" && pass "a rejected download is not loaded later" || fail "corrupt model loaded: '$ids' ($(cat "$TMP/err"))"

# 4. 401 / 403 / 404 messages.
expect_error() {  # description, expected text..., -- command...
  local what=$1; shift
  local expected=()
  while [[ $1 != -- ]]; do expected+=("$1"); shift; done
  shift
  timeout 60 "$@" >/dev/null 2>"$TMP/err"
  local status=$? ok=1
  for text in "${expected[@]}"; do grep -qF -- "$text" "$TMP/err" || ok=0; done
  if [[ $status -eq 1 && $ok -eq 1 ]]; then pass "$what: $(head -c 200 "$TMP/err" | tr '\n' ' ')"; else fail "$what (status $status): $(cat "$TMP/err")"; fi
}
expect_error "401 for a gated repository without a token" "HTTP 401" "$URL/api/models/acme/gated" "accept" "HF_TOKEN" \
  "No token was sent" -- "$GEMMA4" pull hf://acme/gated
expect_error "403 with a token lacking access" "HTTP 403" "not in the authorized list" "$URL/acme/gated" "lacks access" \
  -- env HF_TOKEN=hf_wrong "$GEMMA4" pull hf://acme/gated
mkdir -p "$TMP/hf_home" && echo hf_good_token > "$TMP/hf_home/token"
path=$(run pull hf://acme/gated)
[[ -n $path && -e $path/model.safetensors ]] && pass "the token file in \$HF_HOME/token opens the gated repository" ||
  fail "gated with token file ($(cat "$TMP/err"))"
rm "$TMP/hf_home/token"
expect_error "404 for a missing repository" "HTTP 404" "$URL/api/models/acme/nothing" "No such repository" \
  -- "$GEMMA4" pull hf://acme/nothing
expect_error "404 for a missing revision" "HTTP 404" "revision 'v9' does not exist" -- "$GEMMA4" pull hf://acme/tiny@v9
expect_error "--include that matches nothing" "no file matches --include" "model.safetensors" \
  -- "$GEMMA4" pull hf://acme/tiny --include '*.onnx'
expect_error "a malformed handle" "is not of the form" -- "$GEMMA4" pull hf://acme

# 5. Offline: the cache only, and a clear error naming what is missing.
requests=$(wc -l < "$LOG")
path=$(run pull hf://acme/tiny --offline)
[[ $path == "$TMP/cache/models--acme--tiny/snapshots/$commit" && $(wc -l < "$LOG") -eq $requests ]] &&
  pass "--offline finds the cached snapshot without a request" || fail "--offline cached: '$path' ($(cat "$TMP/err"))"
expect_error "HF_HUB_OFFLINE=1 on an uncached repository" "hf://acme/slow is not in the Hugging Face cache" \
  "models--acme--slow/refs/main" "HF_HUB_OFFLINE=1" -- env HF_HUB_OFFLINE=1 "$GEMMA4" pull hf://acme/slow
expect_error "generate --offline on an uncached handle" "is not on disk" "offline" \
  -- "$GEMMA4" generate --model hf://acme/slow --tokens 2 --offline
expect_error "serve --offline on an uncached handle" "is not on disk" "offline" \
  -- timeout 60 "$GEMMA4" serve --model hf://acme/slow --port 0 --offline
[[ $(wc -l < "$LOG") -eq $requests ]] && pass "offline runs sent no request" || fail "offline requests: $(tail -3 "$LOG")"

# 6. Two concurrent pulls of the same repository: one downloads, the other waits and reuses the blob.
timeout 120 "$GEMMA4" pull hf://acme/slow --quiet >"$TMP/p1" 2>"$TMP/e1" &
p1=$!
timeout 120 "$GEMMA4" pull hf://acme/slow --quiet >"$TMP/p2" 2>"$TMP/e2" &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
slow_commit=$(commit_of acme/slow)
check=$($PY "$HERE/hf_cache_check.py" "$TMP/cache" acme/slow "$slow_commit" "$TMP/src" config.json model.safetensors tokenizer.json)
if [[ $s1 -eq 0 && $s2 -eq 0 && $(cat "$TMP/p1") == "$(cat "$TMP/p2")" && $(fetches acme/slow/model.safetensors) -eq 1 && $check == ok ]]; then
  pass "two concurrent pulls: both succeed, one fetch of the blob, cache intact"
else
  fail "concurrent pulls: status $s1/$s2, fetches $(fetches acme/slow/model.safetensors), check '$check' ($(cat "$TMP/e1" "$TMP/e2"))"
fi

# 7. A repository of GGUF files: ambiguous without a choice, then --quant / a handle suffix.
expect_error "several GGUFs need a choice" "2 GGUF models" "tiny-F32.gguf" "tiny-Q8_0.gguf" "--quant" \
  -- "$GEMMA4" pull hf://acme/tiny-gguf
path=$(run pull hf://acme/tiny-gguf --quant q8_0)
gguf_commit=$(commit_of acme/tiny-gguf)
[[ $path == "$TMP/cache/models--acme--tiny-gguf/snapshots/$gguf_commit/tiny-Q8_0.gguf" &&
   ! -e $TMP/cache/models--acme--tiny-gguf/snapshots/$gguf_commit/tiny-F32.gguf ]] &&
  pass "--quant picks one GGUF and fetches only it" || fail "--quant: '$path' ($(cat "$TMP/err"))"
ids=$(greedy hf://acme/tiny-gguf:Q8_0)
[[ $ids == "$reference" ]] && pass "generate --model hf://acme/tiny-gguf:Q8_0" || fail "GGUF handle: '$ids' ($(cat "$TMP/err"))"

# 8. Kaggle: credentials, the current version, paged file lists, md5 checks, kagglehub's completion marker.
expect_error "Kaggle without credentials" "HTTP 401" "KAGGLE_USERNAME" "No credentials were sent" \
  -- "$GEMMA4" pull kaggle://keras/gemma4/keras/gemma4_instruct_2b
export KAGGLE_USERNAME=kuser KAGGLE_KEY=kkey
path=$(run pull kaggle://keras/gemma4/keras/gemma4_instruct_2b)
variation="$TMP/kaggle/models/keras/gemma4/keras/gemma4_instruct_2b"
if [[ $path == "$variation/2" && -f $variation/2.complete ]] && diff -r "$keras" "$path" >/dev/null &&
   [[ $(grep -c "/2/files?page_size=25" "$LOG") -ge 2 ]]; then
  pass "kaggle:// without a version: version 2, every page of the file list, marker 2.complete"
else
  fail "kaggle pull: '$path' ($(cat "$TMP/err"); $(ls -la "$variation" 2>&1))"
fi
keras_ids=$(greedy "$keras")
[[ -n $keras_ids && $(greedy kaggle://keras/gemma4/keras/gemma4_instruct_2b/2) == "$keras_ids" ]] &&
  pass "generate from the Kaggle download = the KerasHub preset folder" || fail "kaggle generate ($(cat "$TMP/err"))"
rm -rf "$TMP/kaggle"
ids=$(HF_HUB_CACHE="$TMP/empty_hf" greedy gemma4_instruct_2b)
[[ $ids == "$keras_ids" && -f $variation/2.complete ]] && pass "a named preset downloads from Kaggle (credentials set)" ||
  fail "named preset download: '$ids' ($(cat "$TMP/err"))"
unset KAGGLE_USERNAME KAGGLE_KEY

# 9. ModelScope: file list with sha256, files into MODELSCOPE_CACHE/models/owner/<name with . as ___>.
path=$(run pull modelscope://acme/tiny.v1)
[[ $path == "$TMP/modelscope/models/acme/tiny___v1" ]] && cmp -s "$path/model.safetensors" "$TMP/src/model.safetensors" &&
  [[ -z $(ls -A "$TMP/modelscope/._____temp/acme/tiny.v1" 2>/dev/null) ]] &&
  pass "modelscope:// into the modelscope cache" || fail "modelscope pull: '$path' ($(cat "$TMP/err"))"
requests=$(wc -l < "$LOG")
[[ $(greedy modelscope://acme/tiny.v1 --offline) == "$reference" && $(wc -l < "$LOG") -eq $requests ]] &&
  pass "generate --model modelscope://... from the cache" || fail "modelscope generate ($(cat "$TMP/err"))"
expect_error "ModelScope 404" "HTTP 404" "model acme/none not found" -- "$GEMMA4" pull modelscope://acme/none

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
