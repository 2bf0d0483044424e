#!/usr/bin/env bash
# Model-level check of every quantized GGUF type llama.cpp's quantizer makes: one small random-weight Gemma 4
# model (tests/oracle/configs/quant_blocks.json: every matrix row a whole number of 256-value blocks) in F32,
# quantized by llama.cpp itself (llama_model_quantize from node-llama-cpp's libllama, as llama-quantize does;
# the IQ1/IQ2/IQ3_XXS types with an importance matrix of ones), then next-token log-probabilities on 48 fixed
# tokens from:
#   ours(Q)      gemma4 forward on the quantized file (the fast kernels: for the types with integer kernels,
#                activations quantized to 8 bits per block as llama.cpp does)
#   exact(Q)     the same with GEMMA4_PORTABLE_KERNELS=1: weights decoded to float32, float32 arithmetic
#   llama(Q)     llama.cpp on the quantized file (it also quantizes the activations to 8 bits in its products)
#   llama(deqQ)  llama.cpp on the same file with every tensor decoded to F32 by gguf-py: the quantized weights'
#                exact values in float32 arithmetic
#   F32          gemma4 forward on the F32 file (the unquantized truth)
# Pass per type: the file holds the type; exact(Q) vs llama(deqQ) within the F32 oracle's tolerance (max 0.1,
# mean 0.005: our decoding is llama.cpp's, bit for bit as gguf-py's); and ours(Q) is no further from F32 than
# llama(Q) is (mean, x1.25 + 0.005). Reported too: ours(Q) vs llama(Q), and llama(Q) vs llama(deqQ) (what
# llama.cpp's own 8-bit activations move). Ends with "N passed, M failed".
#
#   bash tests/oracle/test_quant_types.sh BUILD_DIR [FTYPE...]      KEEP_TMP=1 keeps the work folder
set -u -o pipefail
BUILD_DIR=$(cd "${1:?usage: test_quant_types.sh BUILD_DIR [FTYPE...]}" && pwd)
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=/usr/bin/python3
GEMMA4=$BUILD_DIR/bin/gemma4
QUANTIZE=$BUILD_DIR/bin/gemma4_llama_quantize
# ftype:tensor type it must produce[:imatrix]
ALL="q4_0:Q4_0 q4_1:Q4_1 q5_0:Q5_0 q5_1:Q5_1 q8_0:Q8_0 q2_k:Q2_K q3_k_m:Q3_K q4_k_m:Q4_K q5_k_m:Q5_K q6_k:Q6_K
     iq4_nl:IQ4_NL iq4_xs:IQ4_XS iq3_s:IQ3_S iq3_xxs:IQ3_XXS:imatrix iq2_xxs:IQ2_XXS:imatrix iq2_xs:IQ2_XS:imatrix
     iq2_m:IQ2_S:imatrix iq1_s:IQ1_S:imatrix iq1_m:IQ1_M:imatrix tq1_0:TQ1_0 tq2_0:TQ2_0"
if [ $# -gt 0 ]; then
  SELECTED=""
  for want in "$@"; do for entry in $ALL; do [ "${entry%%:*}" = "$want" ] && SELECTED="$SELECTED $entry"; done; done
else
  SELECTED=$ALL
fi
TOKENS=2,126,347,50,112,165,161,465,410,468,509,43,76,444,43,88,95,468,186,138,90,236,303,410,317,504,57,251,291,353,6,106,240,37,499,329,410,265,307,179,169,165,161,465,410,468,509,43

die() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
[ -x "$QUANTIZE" ] || die "$QUANTIZE not found (build the gemma4_llama_quantize target)"
LIB=$(ls "$ROOT"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v*.so 2>/dev/null | head -1)
[ -n "$LIB" ] || die "node-llama-cpp's prebuilt libllama is not installed (node_modules/@node-llama-cpp/linux-x64)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_quant_types.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
git -c advice.detachedHead=false clone -q "$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$TMP/llama" ||
  die "cannot clone the llama.cpp source bundle"
run() {  # run LOG CMD...: keeps the output in LOG, shows its tail on failure
  local log=$1; shift
  "$@" >"$log" 2>&1 || { echo "  failed: $*"; tail -15 "$log" | sed 's/^/    | /'; return 1; }
}
run "$TMP/make.log" "$GEMMA4" make-test-model --config "$HERE/configs/quant_blocks.json" --seed 7 --out "$TMP/model" &&
  run "$TMP/f32.log" "$PYTHON" "$HERE/hf_to_gguf.py" "$TMP/model" "$TMP/f32.gguf" --outtype f32 &&
  run "$TMP/truth.log" "$GEMMA4" forward --model "$TMP/f32.gguf" --tokens "$TOKENS" --dump-logits "$TMP/f32.npy" ||
  die "could not make the F32 model"

JOBS=()
for entry in $SELECTED; do
  IFS=: read -r ftype expect imatrix <<<"$entry"
  d=$TMP/$ftype
  mkdir -p "$d"
  extra=()
  [ "$imatrix" = imatrix ] && extra=(--imatrix-ones)
  echo "=== $ftype ==="
  if run "$d/quantize.log" "$QUANTIZE" "$LIB" "$TMP/f32.gguf" "$d/q.gguf" "$ftype" "${extra[@]}" &&
     run "$d/types.json" "$PYTHON" "$HERE/dequantize_gguf.py" "$TMP/llama/gguf-py" "$d/q.gguf" "$d/deq.gguf" &&
     run "$d/ours.log" "$GEMMA4" forward --model "$d/q.gguf" --tokens "$TOKENS" --dump-logits "$d/ours.npy" &&
     run "$d/exact.log" env GEMMA4_PORTABLE_KERNELS=1 "$GEMMA4" forward --model "$d/q.gguf" --tokens "$TOKENS" \
       --dump-logits "$d/exact.npy"
  then
    echo "$expect" > "$d/expect"
    JOBS+=("$d/q.gguf=$d/llama.npy" "$d/deq.gguf=$d/llama_deq.npy")
  fi
done
echo "=== llama.cpp on ${#JOBS[@]} files ==="
[ ${#JOBS[@]} -eq 0 ] || run "$TMP/llama.log" node "$HERE/llama_logits_batch.mjs" --tokens "$TOKENS" "${JOBS[@]}"

"$PYTHON" - "$TMP" $SELECTED <<'PY'
import json, os, sys
import numpy as np
tmp, entries = sys.argv[1], sys.argv[2:]
def logp(path):
    x = np.load(path).astype(np.float64)
    x -= x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))
def dist(a, b):
    d = np.abs(a - b)
    return d.max(), d.mean()
truth = logp(f"{tmp}/f32.npy")
passed = failed = 0
rows = []
for entry in entries:
    ftype, expect = entry.split(":")[:2]
    d = f"{tmp}/{ftype}"
    if not os.path.exists(f"{d}/expect") or not os.path.exists(f"{d}/llama_deq.npy"):
        print(f"FAIL {ftype}: a step failed (see above)")
        failed += 1
        continue
    types = json.loads(open(f"{d}/types.json").read().strip().splitlines()[-1])
    ours, llama, deq = logp(f"{d}/ours.npy"), logp(f"{d}/llama.npy"), logp(f"{d}/llama_deq.npy")
    od_max, od_mean = dist(logp(f"{d}/exact.npy"), deq)
    ol_max, ol_mean = dist(ours, llama)
    of_max, of_mean = dist(ours, truth)
    lf_max, lf_mean = dist(llama, truth)
    ll_max, ll_mean = dist(llama, deq)
    problems = []
    if expect not in types:
        problems.append(f"no {expect} tensor in the file ({types})")
    if not (od_max <= 0.1 and od_mean <= 0.005):
        problems.append(f"exact(Q) vs llama.cpp on the decoded weights: max {od_max:.4f} > 0.1 or mean {od_mean:.5f} > 0.005")
    if not of_mean <= 1.25 * lf_mean + 0.005:
        problems.append(f"ours is further from F32 (mean {of_mean:.4f}) than llama.cpp ({lf_mean:.4f})")
    mix = ", ".join(f"{k} {v}" for k, v in sorted(types.items()) if k != "F32")
    rows.append(f"| {ftype} | {mix} | {od_max:.4f} / {od_mean:.5f} | {ol_max:.3f} / {ol_mean:.4f} | "
                f"{of_max:.3f} / {of_mean:.4f} | {lf_max:.3f} / {lf_mean:.4f} | {ll_max:.3f} / {ll_mean:.4f} |")
    if problems:
        failed += 1
        print(f"FAIL {ftype}: " + "; ".join(problems))
    else:
        passed += 1
print("|log-prob distances, max / mean over 48 x 512|")
print("| ftype | matrices | exact(Q) vs llama(deqQ) | ours(Q) vs llama(Q) | ours(Q) vs F32 | llama(Q) vs F32 "
      "| llama(Q) vs llama(deqQ) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(r)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
