#!/bin/bash
# Accuracy of quantized weights against the same model in float32 arithmetic (bf16 weights widened exactly):
# next-token log-probabilities of a fixed English text, mean and max |delta log-prob| at the text's own next
# tokens, and how often the most likely token agrees.
#
#   bench/quant_accuracy.sh BUILD_DIR [TYPES]      e.g.  bench/quant_accuracy.sh build "q8_0 q4_0"
#
# Uses bench/out/e2b-bf16 (written by bench/side_by_side.sh; random weights in the E2B text shapes) and writes
# bench/out/e2b-TYPE.gguf with `gemma4 convert` where missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
TYPES=${2:-"q8_0 q4_0"}
OUT=$ROOT/bench/out
GEMMA4=$BUILD/bin/gemma4
REFERENCE=$OUT/e2b-bf16
[ -f "$REFERENCE/model.safetensors" ] || { echo "run bench/side_by_side.sh first (it writes $REFERENCE)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

TEXT="The river had been rising for three days when the ferryman decided to stop taking passengers. \
He tied the boat to the old oak, walked up the hill to the village, and told the baker, who told everyone else."
"$GEMMA4" tokenize --model "$REFERENCE" --add-bos --text "$TEXT" | tr -d '[] ' > "$WORK/tokens.txt"
"$GEMMA4" forward --model "$REFERENCE" --tokens "$(cat "$WORK/tokens.txt")" --dump-logits "$WORK/reference.npy" >/dev/null
for type in $TYPES; do
  model=$OUT/e2b-$type.gguf
  [ -f "$model" ] || "$GEMMA4" convert --model "$REFERENCE" --type "$type" --out "$model" >/dev/null
  "$GEMMA4" forward --model "$model" --tokens "$(cat "$WORK/tokens.txt")" --dump-logits "$WORK/$type.npy" >/dev/null
done

/usr/bin/python3 - "$WORK" "$TYPES" <<'PY'
import sys
import numpy as np
work, types = sys.argv[1], sys.argv[2].split()
tokens = np.array([int(t) for t in open(f"{work}/tokens.txt").read().strip().split(",")])
def log_softmax(logits):
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
reference = log_softmax(np.load(f"{work}/reference.npy").reshape(len(tokens), -1))
positions = np.arange(len(tokens) - 1)
targets = tokens[1:]
print(f"{len(positions)} next-token predictions of a fixed text; reference: bf16 weights in float32")
print("| weights | mean abs delta log-prob | max | top-1 agreement |")
print("|---|---|---|---|")
for t in types:
    quantized = log_softmax(np.load(f"{work}/{t}.npy").reshape(len(tokens), -1))
    delta = np.abs(quantized[positions, targets] - reference[positions, targets])
    agree = np.mean(quantized[:-1].argmax(-1) == reference[:-1].argmax(-1))
    print(f"| {t} | {delta.mean():.4f} | {delta.max():.4f} | {100 * agree:.0f}% |")
PY
