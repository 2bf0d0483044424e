#!/bin/bash
# Side-by-side speed of gemma4.cpp and llama.cpp (node-llama-cpp) on one random-weight model in the real
# Gemma 4 E2B text shapes (bench/e2b_text.json), same thread count, alternating engines in one run.
#
#   bench/side_by_side.sh [--long] BUILD_DIR [FORMATS]   e.g.  bench/side_by_side.sh build "bf16 q8_0 q4_0 q4_k_m"
#   environment: THREADS (2), ROUNDS (2: engine alternations per format), REPEAT (3: runs per figure),
#                PREFILL (512), DECODE (64), PROMPT (16), LAYERS (the config's 35; fewer: the same widths with
#                LAYERS layers, the last of each five global, a third of them KV-shared, as the issue's 12-layer runs)
#   --long: prompts of LONG (4096 16384) tokens instead: prefill of each length (every row and as generation
#           runs it), then DECODE steps after a prompt of that length (REPEAT 1 unless set).
# Formats: bf16 and q8_0 are written by tests/oracle/hf_to_gguf.py; q4_0, q4_k_m (and any other llama.cpp
# file type) by llama.cpp's own quantizer (build/bin/gemma4_llama_quantize) from the bf16 GGUF.
#
# Our prefill is measured twice: as generation runs it (rows other than the prompt's last stop at the last
# layer that writes the KV cache; the KV-shared layers after it write none) and with every row through
# every layer (the work llama.cpp does); llama.cpp's one prefill figure is compared with both.
# The memory read bandwidth is measured around every gemma4.cpp run; the table uses the highest figure.
#
# Writes bench/out/: e2b-bf16/ (safetensors, ours), e2b-bf16.gguf and e2b-q8_0.gguf (llama.cpp; ours reads the
# Q8_0 GGUF too, so both engines run the very same quantized bytes), results.jsonl, and prints a table.
set -euo pipefail
LONG_RUN=0
if [ "${1:-}" = --long ]; then LONG_RUN=1; shift; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
FORMATS=${2:-"bf16 q8_0"}
THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-2}
if [ $LONG_RUN = 1 ]; then REPEAT=${REPEAT:-1}; else REPEAT=${REPEAT:-3}; fi
PREFILL=${PREFILL:-512} DECODE=${DECODE:-64} PROMPT=${PROMPT:-16} LONG=${LONG:-"4096 16384"} LAYERS=${LAYERS:-35}
OUT=$ROOT/bench/out
GEMMA4=$BUILD/bin/gemma4
mkdir -p "$OUT"

NAME=e2b CONFIG=$ROOT/bench/e2b_text.json
if [ "$LAYERS" != 35 ]; then
  NAME=e2b$LAYERS CONFIG=$OUT/e2b${LAYERS}_text.json
  /usr/bin/python3 "$ROOT/bench/e2b_config.py" "$ROOT/bench/e2b_text.json" "$CONFIG" "$LAYERS"
fi
if [ ! -f "$OUT/$NAME-bf16/model.safetensors" ]; then
  "$GEMMA4" make-test-model --config "$CONFIG" --seed 1 --dtype bf16 --out "$OUT/$NAME-bf16"
fi
LIB=$(ls "$ROOT"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v*.so 2>/dev/null | head -1 || true)
for fmt in bf16 $FORMATS; do
  [ -f "$OUT/$NAME-$fmt.gguf" ] && continue
  case $fmt in
    bf16|q8_0) /usr/bin/python3 "$ROOT/tests/oracle/hf_to_gguf.py" "$OUT/$NAME-bf16" "$OUT/$NAME-$fmt.gguf" --outtype "$fmt" >&2 ;;
    *) "$BUILD/bin/gemma4_llama_quantize" "$LIB" "$OUT/$NAME-bf16.gguf" "$OUT/$NAME-$fmt.gguf" "$fmt" > "$OUT/$NAME-$fmt.log" 2>&1 ;;
  esac
done

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
# Our model for each format: the bf16 safetensors as written; for quantized formats the same GGUF as llama.cpp.
ours_model() { if [ "$1" = bf16 ]; then echo "$OUT/$NAME-bf16"; else echo "$OUT/$NAME-$1.gguf"; fi; }
# One measurement of both engines, ours first: prefill of $1 tokens, $2 decode steps after a $3-token prompt.
measure() {
  local fmt=$1 round=$2 prefill=$3 decode=$4 prompt=$5
  local common=(--prefill "$prefill" --decode "$decode" --prompt "$prompt" --threads "$THREADS" --repeat "$REPEAT")
  local tag="\"format\": \"$fmt\", \"round\": $round, \"length\": $prefill,"
  echo "round $round, $fmt, prefill $prefill, decode $decode after $prompt: gemma4.cpp" >&2
  "$GEMMA4" bench --model "$(ours_model "$fmt")" "${common[@]}" --all-rows --bandwidth --json |
    sed "s/^{/{\"engine\": \"gemma4.cpp\", $tag /" >> "$RESULTS"
  echo "round $round, $fmt, prefill $prefill: llama.cpp" >&2
  (cd "$ROOT" && node bench/llama_bench.mjs --model "$OUT/$NAME-$fmt.gguf" "${common[@]}") |
    sed "s/^{/{$tag /" >> "$RESULTS"
}
for round in $(seq 1 "$ROUNDS"); do
  for fmt in $FORMATS; do
    if [ $LONG_RUN = 1 ]; then
      for length in $LONG; do measure "$fmt" "$round" "$length" "$DECODE" "$length"; done
    else
      measure "$fmt" "$round" "$PREFILL" "$DECODE" "$PROMPT"
    fi
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
bandwidth = max((r.get("bandwidth_bytes_s", 0) for r in rows), default=0)
def med(fmt, engine, key):
    vals = [r[key] for r in rows if (r["format"], r.get("length")) == fmt and r["engine"] == engine and key in r]
    return statistics.median(vals) if vals else float("nan")
print(f"memory read bandwidth (measured, {rows[0]['threads']} threads): {bandwidth/1e9:.1f} GB/s")
print("| format | figure | gemma4.cpp | llama.cpp | ratio |")
print("|---|---|---|---|---|")
for fmt in dict.fromkeys((r["format"], r.get("length")) for r in rows):
    for key, label in [("prefill_tok_s", "prefill tok/s"), ("prefill_all_rows_tok_s", "prefill tok/s, every row through every layer"),
                       ("decode_tok_s", "decode tok/s"),
                       ("first_token_s", "load to first token s"), ("peak_rss_bytes", "peak RSS GB")]:
        ours = med(fmt, "gemma4.cpp", key)
        theirs = med(fmt, "llama.cpp", "prefill_tok_s" if key == "prefill_all_rows_tok_s" else key)
        scale = 1e-9 if key == "peak_rss_bytes" else 1
        ratio = theirs / ours if key in ("first_token_s", "peak_rss_bytes") else ours / theirs
        note = " (llama/ours)" if key in ("first_token_s", "peak_rss_bytes") else ""
        print(f"| {fmt[0]} {fmt[1]} | {label} | {ours*scale:.2f} | {theirs*scale:.2f} | {ratio:.2f}×{note} |")
    bpt = med(fmt, "gemma4.cpp", "weight_bytes_per_token")
    dec = med(fmt, "gemma4.cpp", "decode_tok_s")
    theirs_dec = med(fmt, "llama.cpp", "decode_tok_s")
    if bandwidth:
        print(f"| {fmt[0]} {fmt[1]} | decode weight reads (share of bandwidth) | {bpt*dec/1e9:.1f} GB/s = {100*bpt*dec/bandwidth:.0f}% "
              f"| {bpt*theirs_dec/1e9:.1f} GB/s = {100*bpt*theirs_dec/bandwidth:.0f}% | |")
PY
