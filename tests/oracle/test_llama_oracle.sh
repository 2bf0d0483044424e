#!/usr/bin/env bash
# Numerical oracle test: gemma4.cpp's logits vs llama.cpp's (node-llama-cpp 3.22.1, F32 GGUF, F32 KV cache,
# flash attention off) on four small random-weight Gemma 4 models (tests/oracle/configs/*.json).
#
#   bash tests/oracle/test_llama_oracle.sh BUILD_DIR [CONFIG_NAME...]
#
# For each config: gemma4 make-test-model -> HF folder; hf_to_gguf.py -> F32 GGUF; gemma4 forward and
# llama_run.mjs logits on the same 48 tokens; compare_logprobs.py with max 0.1, mean 0.005, argmax >= 95%.
# A float64 NumPy forward pass (ref_forward.py) is compared with both sides as a diagnostic: it tells which
# side moved when they disagree. Environment: PYTHON (default /usr/bin/python3), NODE (default node),
# KEEP_TMP=1 keeps the work folder.
set -u -o pipefail

BUILD_DIR=${1:?usage: test_llama_oracle.sh BUILD_DIR [CONFIG_NAME...]}
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
GEMMA4="$BUILD_DIR/bin/gemma4"
CONFIGS=("$@")
[ ${#CONFIGS[@]} -eq 0 ] && CONFIGS=(dense ple_kvshare kv_moe all)
# 48 fixed tokens: BOS, 40 ids in [4, 512), then a repeat of a 7-token span (window 8 is crossed many times).
TOKENS=2,126,347,50,112,165,161,465,410,468,509,43,76,444,43,88,95,468,186,138,90,236,303,410,317,504,57,251,291,353,6,106,240,37,499,329,410,265,307,179,169,165,161,465,410,468,509,43

die() { echo "FAIL: $*"; echo "0 passed, ${#CONFIGS[@]} failed"; exit 1; }
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
"$PYTHON" -c 'import numpy' 2>/dev/null || die "$PYTHON has no numpy (set PYTHON=...)"
[ -d "$ROOT/node_modules/node-llama-cpp" ] && [ -d "$ROOT/node_modules/@node-llama-cpp/linux-x64" ] || die \
  "node-llama-cpp is not installed; run: cd $ROOT && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --ignore-scripts"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_oracle.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

passed=0
failed=0
summaries=()
for name in "${CONFIGS[@]}"; do
  cfg="$HERE/configs/$name.json"
  d="$TMP/$name"
  mkdir -p "$d"
  echo "=== $name ==="
  step() {  # step LABEL CMD... : run, keep the log, report on failure
    local label=$1; shift
    if ! "$@" >"$d/$label.log" 2>&1; then
      echo "  $label failed: $*"; sed 's/^/    | /' "$d/$label.log" | tail -20; return 1
    fi
  }
  if step make-test-model "$GEMMA4" make-test-model --config "$cfg" --seed 7 --out "$d/model" &&
     step hf_to_gguf "$PYTHON" "$HERE/hf_to_gguf.py" "$d/model" "$d/model.gguf" --outtype f32 &&
     step forward "$GEMMA4" forward --model "$d/model" --tokens "$TOKENS" --dump-logits "$d/ours.npy" &&
     step llama "$NODE" "$HERE/llama_run.mjs" logits --model "$d/model.gguf" --tokens "$TOKENS" --out "$d/theirs.npy" --threads 2
  then
    "$PYTHON" "$HERE/compare_logprobs.py" "$d/ours.npy" "$d/theirs.npy" --max 0.1 --mean 0.005 --argmax 0.95 \
      --label "$name ours-vs-llama.cpp" >"$d/compare.log" 2>&1
    rc=$?
    sed 's/^/  /' "$d/compare.log"
    # diagnostics: an independent float64 NumPy forward pass against both sides
    if "$PYTHON" "$HERE/ref_forward.py" "$d/model" --tokens "$TOKENS" --out "$d/ref.npy" >"$d/ref.log" 2>&1; then
      for side in ours theirs; do
        "$PYTHON" "$HERE/compare_logprobs.py" "$d/ref.npy" "$d/$side.npy" --worst 0 \
          --label "  [diag] numpy-f64-vs-$side" 2>&1 | tail -1
      done
    else
      echo "  [diag] ref_forward.py failed:"; tail -5 "$d/ref.log" | sed 's/^/    | /'
    fi
    line=$(tail -1 "$d/compare.log")
    if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    summaries+=("$line")
  else
    failed=$((failed + 1))
    summaries+=("$name: FAIL (a step failed, see above)")
  fi
done

echo "=== summary (log-prob diffs ours vs llama.cpp; tolerances max 0.1, mean 0.005, argmax >= 95%) ==="
for s in "${summaries[@]}"; do echo "$s"; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
