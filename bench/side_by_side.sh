#!/bin/bash
# Side-by-side speed of gemma4.cpp and llama.cpp (node-llama-cpp) on one random-weight model in the real
# Gemma 4 E2B text shapes (bench/e2b_text.json), same thread count, alternating engines in one run.
#
#   bench/side_by_side.sh BUILD_DIR [FORMATS]      e.g.  bench/side_by_side.sh build "bf16 q8_0"
#   environment: THREADS (2), ROUNDS (2: engine alternations per format), REPEAT (3: runs per figure),
#                PREFILL (512), DECODE (64), PROMPT (16)
#
# Our prefill is measured twice: as generation runs it (rows other than the prompt's last stop at the last
# layer that writes the KV cache; the KV-shared layers after it write none) and with every row through
# every layer (the work llama.cpp does); llama.cpp's one prefill figure is compared with both.
# The memory read bandwidth is measured around every gemma4.cpp run; the table uses the highest figure.
#
# Writes bench/out/: e2b-bf16/ (safetensors, ours), e2b-bf16.gguf and e2b-q8_0.gguf (llama.cpp; ours reads the
# Q8_0 GGUF too, so both engines run the very same quantized bytes), results.jsonl, and prints a table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
FORMATS=${2:-"bf16 q8_0"}
THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-2} REPEAT=${REPEAT:-3}
PREFILL=${PREFILL:-512} DECODE=${DECODE:-64} PROMPT=${PROMPT:-16}
OUT=$ROOT/bench/out
GEMMA4=$BUILD/bin/gemma4
mkdir -p "$OUT"

if [ ! -f "$OUT/e2b-bf16/model.safetensors" ]; then
  "$GEMMA4" make-test-model --config "$ROOT/bench/e2b_text.json" --seed 1 --dtype bf16 --out "$OUT/e2b-bf16"
fi
for fmt in $FORMATS; do
  if [ ! -f "$OUT/e2b-$fmt.gguf" ]; then
    /usr/bin/python3 "$ROOT/tests/oracle/hf_to_gguf.py" "$OUT/e2b-bf16" "$OUT/e2b-$fmt.gguf" --outtype "$fmt" >&2
  fi
done

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
common=(--prefill "$PREFILL" --decode "$DECODE" --prompt "$PROMPT" --threads "$THREADS" --repeat "$REPEAT")
# Our model for each format: the bf16 safetensors as written; for quantized formats the same GGUF as llama.cpp.
ours_model() { if [ "$1" = bf16 ]; then echo "$OUT/e2b-bf16"; else echo "$OUT/e2b-$1.gguf"; fi; }
for round in $(seq 1 "$ROUNDS"); do
  for fmt in $FORMATS; do
    echo "round $round, $fmt: gemma4.cpp" >&2
    "$GEMMA4" bench --model "$(ours_model "$fmt")" "${common[@]}" --all-rows --bandwidth --json |
      sed "s/^{/{\"engine\": \"gemma4.cpp\", \"format\": \"$fmt\", \"round\": $round, /" >> "$RESULTS"
    echo "round $round, $fmt: llama.cpp" >&2
    (cd "$ROOT" && node bench/llama_bench.mjs --model "$OUT/e2b-$fmt.gguf" --prefill "$PREFILL" --decode "$DECODE" \
       --prompt "$PROMPT" --threads "$THREADS" --repeat "$REPEAT") |
      sed "s/^{/{\"format\": \"$fmt\", \"round\": $round, /" >> "$RESULTS"
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
bandwidth = max((r.get("bandwidth_bytes_s", 0) for r in rows), default=0)
def med(fmt, engine, key):
    vals = [r[key] for r in rows if r["format"] == fmt and r["engine"] == engine and key in r]
    return statistics.median(vals) if vals else float("nan")
print(f"memory read bandwidth (measured, {rows[0]['threads']} threads): {bandwidth/1e9:.1f} GB/s")
print("| format | figure | gemma4.cpp | llama.cpp | ratio |")
print("|---|---|---|---|---|")
for fmt in dict.fromkeys(r["format"] for r in rows):
    for key, label in [("prefill_tok_s", "prefill tok/s"), ("prefill_all_rows_tok_s", "prefill tok/s, every row through every layer"),
                       ("decode_tok_s", "decode tok/s"),
                       ("first_token_s", "load to first token s"), ("peak_rss_bytes", "peak RSS GB")]:
        ours = med(fmt, "gemma4.cpp", key)
        theirs = med(fmt, "llama.cpp", "prefill_tok_s" if key == "prefill_all_rows_tok_s" else key)
        scale = 1e-9 if key == "peak_rss_bytes" else 1
        ratio = theirs / ours if key in ("first_token_s", "peak_rss_bytes") else ours / theirs
        note = " (llama/ours)" if key in ("first_token_s", "peak_rss_bytes") else ""
        print(f"| {fmt} | {label} | {ours*scale:.2f} | {theirs*scale:.2f} | {ratio:.2f}×{note} |")
    bpt = med(fmt, "gemma4.cpp", "weight_bytes_per_token")
    dec = med(fmt, "gemma4.cpp", "decode_tok_s")
    theirs_dec = med(fmt, "llama.cpp", "decode_tok_s")
    if bandwidth:
        print(f"| {fmt} | decode weight reads (share of bandwidth) | {bpt*dec/1e9:.1f} GB/s = {100*bpt*dec/bandwidth:.0f}% "
              f"| {bpt*theirs_dec/1e9:.1f} GB/s = {100*bpt*theirs_dec/bandwidth:.0f}% | |")
PY
