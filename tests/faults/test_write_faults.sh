#!/bin/bash
# Nothing lost on disk: writers that fail midway (an LD_PRELOAD shim, tests/faults/failing_write.c, makes
# write() give ENOSPC after N bytes, or fsync() give EIO, for files under one folder; and a real full tmpfs when
# this runs as root and may mount) leave the previous file intact and no partial or temporary file; convert
# refuses to write over its own input; and a model file cut at random byte offsets gives a clear error.
# Usage: bash tests/faults/test_write_faults.sh BUILD_DIR
set -uo pipefail
BUILD="$(cd "${1:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GEMMA4="$BUILD/bin/gemma4"
FIXTURE="$ROOT/tests/data/kerashub_fixtures/text_all"
WORK=$(mktemp -d)
cleanup() {
  mountpoint -q "$WORK/tmpfs" 2>/dev/null && umount "$WORK/tmpfs"
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[[ -x "$GEMMA4" ]] || { echo "FAIL: $GEMMA4 is not built"; exit 1; }
cc -shared -fPIC -O1 -o "$WORK/failing_write.so" "$ROOT/tests/faults/failing_write.c" -ldl || { echo "FAIL: cannot build the shim"; exit 1; }

mkdir -p "$WORK/out"
"$GEMMA4" convert --model "$FIXTURE" --out "$WORK/reference.gguf" --type q8_0 >/dev/null || fail "reference convert"
size=$(stat -c %s "$WORK/reference.gguf")

# expect_intact WHAT TARGET: the previous content (the word "previous") is still there, and no temporary file.
expect_intact() {
  local what=$1 target=$2
  [[ "$(cat "$target" 2>/dev/null)" == "previous" ]] || fail "$what: the previous $target was not kept"
  local left
  left=$(find "$(dirname "$target")" -name '*.tmp.*' | head -3)
  [[ -z "$left" ]] || fail "$what: temporary files left behind: $left"
}

# run_failing WHAT EXPECTED_MESSAGE ENV... -- ARGS...: the command fails with the message, exit status 1.
run_failing() {
  local what=$1 want=$2
  shift 2
  local env=()
  while [[ $1 != -- ]]; do env+=("$1"); shift; done
  shift
  local text status
  text=$(env LD_PRELOAD="$WORK/failing_write.so" FAULT_PATH="$WORK/out" "${env[@]}" "$GEMMA4" "$@" 2>&1)
  status=$?
  if [[ $status -ne 1 ]]; then
    fail "$what: exit status $status, expected 1 ($text)"
  elif [[ "$text" != *"$want"* ]]; then
    fail "$what: the error does not say '$want': $text"
  else
    echo "ok: $what: $(echo "$text" | tail -1 | cut -c1-160)"
  fi
}

# 1. convert to GGUF, the disk filling at several points of the file, and fsync failing.
for after in 0 1 100 4096 $((size / 2)) $((size - 1)); do
  echo previous > "$WORK/out/model.gguf"
  run_failing "convert, disk full after $after bytes" "No space left on device" FAULT_WRITE_AFTER=$after -- \
    convert --model "$FIXTURE" --out "$WORK/out/model.gguf" --type q8_0
  expect_intact "convert ($after bytes)" "$WORK/out/model.gguf"
done
echo previous > "$WORK/out/model.gguf"
run_failing "convert, fsync failing" "flushing to disk failed" FAULT_FSYNC=1 -- \
  convert --model "$FIXTURE" --out "$WORK/out/model.gguf" --type q8_0
expect_intact "convert (fsync)" "$WORK/out/model.gguf"
# With room enough the same command succeeds and writes the reference bytes.
env LD_PRELOAD="$WORK/failing_write.so" FAULT_PATH="$WORK/out" FAULT_WRITE_AFTER=$((size + 1)) \
  "$GEMMA4" convert --model "$FIXTURE" --out "$WORK/out/model.gguf" --type q8_0 >/dev/null 2>&1 || fail "convert with room"
cmp -s "$WORK/out/model.gguf" "$WORK/reference.gguf" || fail "convert with room did not write the reference file"

# 2. convert to a Hugging Face folder (config.json, model.safetensors, tokenizer): each file kept or replaced whole.
mkdir -p "$WORK/out/hf"
echo previous > "$WORK/out/hf/model.safetensors"
run_failing "convert --to hf, disk full after 3000 bytes" "No space left on device" FAULT_WRITE_AFTER=3000 -- \
  convert --model "$WORK/reference.gguf" --to hf "$WORK/out/hf"
expect_intact "convert --to hf" "$WORK/out/hf/model.safetensors"

# 3. forward's .npy dumps.
echo previous > "$WORK/out/logits.npy"
run_failing "forward --dump-logits, disk full after 64 bytes" "No space left on device" FAULT_WRITE_AFTER=64 -- \
  forward --model "$FIXTURE" --tokens 2,3 --dump-logits "$WORK/out/logits.npy"
expect_intact "forward --dump-logits" "$WORK/out/logits.npy"

# 4. make-test-model's folder.
mkdir -p "$WORK/out/test_model"
echo previous > "$WORK/out/test_model/model.safetensors"
run_failing "make-test-model, disk full after 1000 bytes" "No space left on device" FAULT_WRITE_AFTER=1000 -- \
  make-test-model --config "$FIXTURE/config.json" --out "$WORK/out/test_model"
[[ "$(cat "$WORK/out/test_model/model.safetensors")" == previous ]] || fail "make-test-model replaced model.safetensors partly"

# 5. The input is never the output.
cp "$WORK/reference.gguf" "$WORK/self.gguf"
text=$("$GEMMA4" convert --model "$WORK/self.gguf" --out "$WORK/self.gguf" 2>&1) && fail "convert onto its own input succeeded"
[[ "$text" == *"is the model being converted"* ]] || fail "convert onto its input: unclear error: $text"
ln -s "$WORK/self.gguf" "$WORK/link.gguf"
"$GEMMA4" convert --model "$WORK/self.gguf" --out "$WORK/link.gguf" >/dev/null 2>&1 && fail "convert onto a link to its input succeeded"
cp -r "$FIXTURE" "$WORK/hf_source"
"$GEMMA4" convert --model "$WORK/hf_source" --to hf "$WORK/hf_source" >/dev/null 2>&1 && fail "convert --to hf into its own folder succeeded"
cmp -s "$WORK/self.gguf" "$WORK/reference.gguf" || fail "the input GGUF changed"
cmp -s "$WORK/hf_source/model.safetensors" "$FIXTURE/model.safetensors" || fail "the input folder changed"
echo "ok: convert refuses to write over its input (file, link, folder)"

# 6. A model file cut at random byte offsets (a download that stopped): a clear error, never a signal.
for offset in $(/usr/bin/python3 -c "import random; r = random.Random(15); print(' '.join(str(r.randrange($size)) for _ in range(24)))"); do
  head -c "$offset" "$WORK/reference.gguf" > "$WORK/cut.gguf"
  text=$("$GEMMA4" forward --model "$WORK/cut.gguf" --tokens 2,3 2>&1)
  status=$?
  if [[ $status -ne 1 || "$text" != *"cut.gguf"* ]]; then
    fail "GGUF cut at byte $offset: exit status $status: $text"
  fi
done
echo "ok: a GGUF cut at 24 random offsets gives an error naming the file"

# 7. A real full disk: a 256 KiB tmpfs (root with CAP_SYS_ADMIN only).
mkdir -p "$WORK/tmpfs"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=256k tmpfs "$WORK/tmpfs" 2>/dev/null; then
  echo previous > "$WORK/tmpfs/model.gguf"
  text=$("$GEMMA4" convert --model "$FIXTURE" --out "$WORK/tmpfs/model.gguf" 2>&1) && fail "convert onto a full tmpfs succeeded"
  [[ "$text" == *"No space left on device"* ]] || fail "full tmpfs: unclear error: $text"
  expect_intact "convert onto a full tmpfs" "$WORK/tmpfs/model.gguf"
  echo "ok: full tmpfs: $(echo "$text" | tail -1 | cut -c1-120)"
else
  echo "skip: the full-tmpfs case needs root and permission to mount (the LD_PRELOAD cases above cover the same paths)"
fi

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all write-fault checks passed"
