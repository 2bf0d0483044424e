#!/usr/bin/env bash
# `gemma4 serve` with an API key (flag and GEMMA4_API_KEY), POST /v1/embeddings on the KerasHub embedding
# fixture (pooling head, no tokenizer) and GET /metrics: serve_api_checks.py over plain HTTP, then the official
# `openai` npm client (openai_client_api.mjs).
# Usage: test_serve_api.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_serve_api.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
EMBED_MODEL="$HERE/../data/kerashub_fixtures/embedding"
KEY="sk-test-$RANDOM$RANDOM"
TMP=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# Starts a server whose log is $TMP/$1.log; sets `port` (empty if it did not start).
start() {
  local name=$1
  shift
  "$@" --port 0 >/dev/null 2>"$TMP/$name.log" &
  local pid=$!
  pids+=($pid)
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/$name.log")
    [[ -n $port ]] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
}

export GEMMA4_API_KEY="$KEY"
start tiny "$GEMMA4" serve --model builtin:tiny --context 512
tiny_port=$port
unset GEMMA4_API_KEY
start embed "$GEMMA4" serve --model "$EMBED_MODEL" --api-key "$KEY"
embed_port=$port
if [[ -z $tiny_port || -z $embed_port ]]; then
  echo "FAIL: a server did not start: $(cat "$TMP"/*.log)"
  exit 1
fi

status=0
timeout 300 /usr/bin/python3 "$HERE/serve_api_checks.py" "$GEMMA4" "$EMBED_MODEL" "http://127.0.0.1:$embed_port" \
  "http://127.0.0.1:$tiny_port" "$KEY" || status=1

if [[ -f "$HERE/../../node_modules/openai/package.json" ]]; then
  # Expected vectors from gemma4 forward, one sequence at a time.
  inputs=("2,5,6,7,8" "2,11" "2,60,61")
  for i in "${!inputs[@]}"; do
    "$GEMMA4" forward --model "$EMBED_MODEL" --tokens "${inputs[$i]}" --pooled "$TMP/pooled$i.npy" >/dev/null 2>&1 || status=1
  done
  /usr/bin/python3 - "$TMP" "${inputs[@]}" >"$TMP/expected.json" <<'PY' || status=1
import json, sys
import numpy as np
folder, inputs = sys.argv[1], sys.argv[2:]
print(json.dumps({"inputs": [[int(t) for t in s.split(",")] for s in inputs],
                  "embeddings": [np.load(f"{folder}/pooled{i}.npy").reshape(-1).astype(float).tolist()
                                 for i in range(len(inputs))]}))
PY
  timeout 120 node "$HERE/openai_client_api.mjs" "http://127.0.0.1:$tiny_port/v1" "http://127.0.0.1:$embed_port/v1" \
    "$KEY" "$TMP/expected.json" || status=1
else
  echo "FAIL: node_modules/openai is missing (run ./setup.sh)"
  status=1
fi

[[ $status -eq 0 ]] || tail -20 "$TMP"/*.log
exit $status
