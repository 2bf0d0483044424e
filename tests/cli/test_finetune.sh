#!/usr/bin/env bash
# gemma4 finetune: a LoRA on a random-weight model memorises two sentences (loss below 0.5, greedy generation
# through --lora reproduces them) in PEFT and KerasHub form; the .lora.h5 layout is read back with h5py; Ctrl-C
# saves a checkpoint and --resume finishes the run.
# Usage: test_finetune.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_finetune.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# Embedding std 0.5: the frozen head can make peaked distributions, so the adapters alone can memorise.
"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/all.json" --seed 3 --embedding-std 0.5 --out "$TMP/m" 2>/dev/null ||
  { echo "FAIL: make-test-model"; exit 1; }
printf '%s\n' '{"text": "the cat sat on the mat"}' '{"text": "a dog ran in the park"}' > "$TMP/train.jsonl"
COMMON=(--model "$TMP/m" --data "$TMP/train.jsonl" --rank 8 --lr 2e-2 --warmup 5 --seq-len 32 --batch 2
        --targets query,value,attention_output,ffw_gating,ffw_gating_2,ffw_linear)

check_memorised() {  # $1: adapter, $2: label
  local a b
  a=$("$GEMMA4" generate --model "$TMP/m" --lora "$1" --raw --prompt "the cat" --greedy --max-tokens 12 2>/dev/null)
  b=$("$GEMMA4" generate --model "$TMP/m" --lora "$1" --raw --prompt "a dog" --greedy --max-tokens 12 2>/dev/null)
  if [[ "$a" == " sat on the mat"* && "$b" == " ran in the park"* ]]; then pass "$2: greedy generation reproduces both sentences"
  else fail "$2: greedy generation gave '$a' / '$b'"; fi
}

"$GEMMA4" finetune "${COMMON[@]}" --steps 40 --print-every 10 --out "$TMP/peft" 2> "$TMP/peft.log" || fail "finetune (PEFT) exited $?"
loss=$(sed -n 's/.*last loss \([0-9.]*\).*/\1/p' "$TMP/peft.log")
if [[ -n "$loss" ]] && /usr/bin/python3 -c "import sys; sys.exit(0 if float('$loss') < 0.5 else 1)"; then pass "PEFT run: final loss $loss < 0.5"
else fail "PEFT run: final loss '$loss' (log: $(tail -3 "$TMP/peft.log"))"; fi
grep -q "^step 10/40  loss" "$TMP/peft.log" && pass "progress lines on a pipe" || fail "no progress line in $(head -3 "$TMP/peft.log")"
[[ -f "$TMP/peft/adapter_config.json" && -f "$TMP/peft/adapter_model.safetensors" ]] && pass "PEFT folder written" || fail "PEFT folder"
check_memorised "$TMP/peft" "PEFT"

# KerasHub's default targets (query, value), the only ones a .lora.h5 holds here: learns, though slower.
"$GEMMA4" finetune --model "$TMP/m" --data "$TMP/train.jsonl" --rank 8 --lr 3e-2 --warmup 5 --seq-len 32 --batch 2 --steps 40 \
  --format keras --out "$TMP/keras" 2> "$TMP/keras.log" || fail "finetune (keras) exited $?"
first=$(sed -n 's|^step 1/40  loss \([0-9.]*\).*|\1|p' "$TMP/keras.log")
loss=$(sed -n 's/.*last loss \([0-9.]*\).*/\1/p' "$TMP/keras.log")
if /usr/bin/python3 -c "import sys; sys.exit(0 if float('$loss') < 0.2 * float('$first') else 1)" 2>/dev/null; then
  pass "KerasHub run: loss $first -> $loss"
else fail "KerasHub run: loss '$first' -> '$loss'"; fi
"$GEMMA4" generate --model "$TMP/m" --lora "$TMP/keras/model.lora.h5" --raw --prompt "the cat" --greedy --max-tokens 4 \
  > /dev/null 2>&1 && pass "generate --lora model.lora.h5" || fail "generate --lora model.lora.h5"
/usr/bin/python3 - "$TMP/keras/model.lora.h5" <<'PY' && pass ".lora.h5 layout (h5py)" || fail ".lora.h5 layout (h5py)"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["lora/vars/rank"].dtype.kind == "i" and int(f["lora/vars/rank"][()]) == 8
    entries = [k for k in f["lora"] if k != "vars"]
    assert len(entries) > 0
    for k in entries:
        a, b = f[f"lora/{k}/vars/lora_kernel_a"], f[f"lora/{k}/vars/lora_kernel_b"]
        assert a.dtype == "float32" and b.dtype == "float32" and a.ndim == 3 and a.shape[2] == 8 and b.shape[0] == 8, (k, a.shape, b.shape)
PY

# Ctrl-C: the run stops between steps with a checkpoint; --resume completes it.
"$GEMMA4" finetune "${COMMON[@]}" --steps 400 --print-every 1 --out "$TMP/int" 2> "$TMP/int.log" &
pid=$!
for _ in $(seq 1 600); do grep -q "^step 2/" "$TMP/int.log" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
step=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/int/checkpoint/trainer_state.json'))['step'])" 2>/dev/null)
if [[ $rc -eq 130 && -n "$step" && "$step" -ge 2 && "$step" -lt 400 ]] && grep -q "interrupted at step $step" "$TMP/int.log"; then
  pass "SIGINT: exit 130, checkpoint at step $step"
else fail "SIGINT: rc $rc, step '$step', log: $(tail -2 "$TMP/int.log")"; fi
"$GEMMA4" finetune "${COMMON[@]}" --steps $((step + 2)) --out "$TMP/int" --resume "$TMP/int" 2> "$TMP/resume.log" || fail "resume exited $?"
grep -q "for $((step + 2)) steps" "$TMP/resume.log" && pass "--resume continues from step $step" || fail "resume: $(tail -2 "$TMP/resume.log")"

"$GEMMA4" finetune --model "$TMP/m" --data "$TMP/missing.jsonl" --out "$TMP/x" 2> "$TMP/err.log" && fail "missing data accepted"
grep -q "missing.jsonl" "$TMP/err.log" && pass "missing data: error names the file" || fail "missing data error: $(cat "$TMP/err.log")"

echo "finetune: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
