#!/bin/bash
# Aggregate decode tokens/s and time to first token for 1, 2, 4, 8, 16 concurrent streams on the random-weight
# E2B-shaped model (bench/e2b_text.json): gemma4 serve --parallel 16 (continuous batching) against llama.cpp's
# multi-sequence batching (node-llama-cpp context sequences), same Q8_0 GGUF, same thread count. A benchmark,
# not a test: run it on a quiet machine.
#
#   bench/concurrency.sh BUILD_DIR        environment: THREADS (2), DECODE (64), PROMPT (16), STREAMS (1,2,4,8,16),
#                                         LAYERS (35; fewer: bench/e2b_config.py cuts the stack, widths kept)
#
# Writes bench/out/concurrency.jsonl and prints a table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
THREADS=${THREADS:-2} DECODE=${DECODE:-64} PROMPT=${PROMPT:-16} STREAMS=${STREAMS:-1,2,4,8,16} LAYERS=${LAYERS:-35}
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
if [ ! -f "$OUT/$NAME-q8_0.gguf" ]; then
  /usr/bin/python3 "$ROOT/tests/oracle/hf_to_gguf.py" "$OUT/$NAME-bf16" "$OUT/$NAME-q8_0.gguf" --outtype q8_0 >&2
fi
RESULTS=$OUT/concurrency.jsonl
: > "$RESULTS"

log=$(mktemp)
"$GEMMA4" serve --model "$OUT/$NAME-q8_0.gguf" --port 0 --threads "$THREADS" --parallel 16 --context 512 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 600); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "gemma4 serve did not start: $(cat "$log")" >&2; exit 1; }
(cd "$ROOT" && node bench/concurrency.mjs --engine ours --url "http://127.0.0.1:$port" --streams "$STREAMS" \
   --decode "$DECODE" --prompt "$PROMPT") >> "$RESULTS"
kill -TERM $pid; wait $pid || true
(cd "$ROOT" && node bench/concurrency.mjs --engine llama --model "$OUT/$NAME-q8_0.gguf" --streams "$STREAMS" \
   --decode "$DECODE" --prompt "$PROMPT" --threads "$THREADS") >> "$RESULTS"

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
get = lambda engine, s: next((r for r in rows if r["engine"] == engine and r["streams"] == s), None)
one = get("gemma4.cpp", 1)
print("| streams | gemma4.cpp tok/s | x one stream | TTFT s | llama.cpp tok/s | TTFT s |")
print("|---|---|---|---|---|---|")
for s in sorted({r["streams"] for r in rows}):
    o, l = get("gemma4.cpp", s), get("llama.cpp", s)
    print(f"| {s} | {o['aggregate_tok_s']:.1f} | {o['aggregate_tok_s'] / one['aggregate_tok_s']:.2f} | {o['ttft_mean_s']:.2f} "
          f"| {l['aggregate_tok_s'] if l else float('nan'):.1f} | {l['ttft_mean_s'] if l else float('nan'):.2f} |")
PY
