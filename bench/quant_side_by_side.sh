#!/bin/bash
# Speed of gemma4.cpp and llama.cpp (node-llama-cpp) on llama.cpp-quantized GGUFs of a random-weight model in
# the Gemma 4 E2B text shapes with fewer layers (bench/e2b_text.json, LAYERS layers, no KV sharing): the
# files are made by llama.cpp's own quantizer (build/bin/gemma4_llama_quantize, as llama-quantize does), so
# both engines run the very same bytes. Alternates the engines ROUNDS times and prints the median figures.
#
#   bench/quant_side_by_side.sh BUILD_DIR [FTYPES]     e.g.  bench/quant_side_by_side.sh build "q4_k_m iq4_xs"
#   environment: LAYERS (4), THREADS (2), ROUNDS (2), REPEAT (3), PREFILL (64), DECODE (32), PROMPT (16)
#
# Writes bench/out/e2b${LAYERS}-*.gguf (git-ignored; ~1.7 GB bf16 + ~0.65 GB per 4-bit file at 4 layers).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
FTYPES=${2:-"q4_k_m q5_k_m iq4_xs"}
LAYERS=${LAYERS:-4} THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-2} REPEAT=${REPEAT:-3}
PREFILL=${PREFILL:-64} DECODE=${DECODE:-32} PROMPT=${PROMPT:-16}
OUT=$ROOT/bench/out
NAME=e2b$LAYERS
mkdir -p "$OUT"
LIB=$(ls "$ROOT"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v*.so | head -1)

if [ ! -f "$OUT/$NAME-bf16.gguf" ]; then
  /usr/bin/python3 - "$ROOT/bench/e2b_text.json" "$OUT/${NAME}_text.json" "$LAYERS" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
layers = int(sys.argv[3])
config["num_hidden_layers"] = layers
config["layer_types"] = ["sliding_attention"] * (layers - 1) + ["full_attention"]
config["num_kv_shared_layers"] = 0
json.dump(config, open(sys.argv[2], "w"), indent=2)
PY
  "$BUILD/bin/gemma4" make-test-model --config "$OUT/${NAME}_text.json" --seed 1 --dtype bf16 --out "$OUT/$NAME-bf16"
  /usr/bin/python3 "$ROOT/tests/oracle/hf_to_gguf.py" "$OUT/$NAME-bf16" "$OUT/$NAME-bf16.gguf" --outtype bf16 >&2
fi
for ftype in $FTYPES; do
  [ -f "$OUT/$NAME-$ftype.gguf" ] ||
    "$BUILD/bin/gemma4_llama_quantize" "$LIB" "$OUT/$NAME-bf16.gguf" "$OUT/$NAME-$ftype.gguf" "$ftype" > "$OUT/$NAME-$ftype.log" 2>&1
done

RESULTS=$OUT/quant_results.jsonl
: > "$RESULTS"
common=(--prefill "$PREFILL" --decode "$DECODE" --prompt "$PROMPT" --threads "$THREADS" --repeat "$REPEAT")
for round in $(seq 1 "$ROUNDS"); do
  for ftype in $FTYPES; do
    model=$OUT/$NAME-$ftype.gguf
    echo "round $round, $ftype" >&2
    "$BUILD/bin/gemma4" bench --model "$model" "${common[@]}" --json |
      sed "s/^{/{\"engine\": \"gemma4.cpp\", \"format\": \"$ftype\", /" >> "$RESULTS"
    (cd "$ROOT" && node bench/llama_bench.mjs --model "$model" "${common[@]}") |
      sed "s/^{/{\"format\": \"$ftype\", /" >> "$RESULTS"
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def med(fmt, engine, key):
    vals = [r[key] for r in rows if r["format"] == fmt and r["engine"] == engine and key in r]
    return statistics.median(vals) if vals else float("nan")
print("| file type | figure | gemma4.cpp | llama.cpp | ratio |")
print("|---|---|---|---|---|")
for fmt in dict.fromkeys(r["format"] for r in rows):
    for key, label in [("prefill_tok_s", "prefill tok/s"), ("decode_tok_s", "decode tok/s")]:
        ours, theirs = med(fmt, "gemma4.cpp", key), med(fmt, "llama.cpp", key)
        print(f"| {fmt} | {label} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x |")
PY
