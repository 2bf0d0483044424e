#!/usr/bin/env bash
# Load on loopback: `gemma4 serve --parallel 8 --queue 16` on builtin:tiny, 32 concurrent streaming clients for
# ROUNDS rounds (default 6; about a minute here), then 8 clients that hang up mid-stream. Passes when there are
# no errors other than deliberate 429s, every greedy text equals the same request run alone, no slot stays busy
# after the hang-ups (/metrics), and the resident memory after the last round is within 32 MiB of what it was
# after the first (warm-up) round. Bounded: 240 s for the client, 10 s for the shutdown.
# Usage: test_serve_load.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_serve_load.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
ROUNDS=${ROUNDS:-6}
server_pid=
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$TMP"' EXIT
source "$HERE/serve_start.sh"

start_server "$TMP/server.log" --model builtin:tiny --context 512 --parallel 8 --queue 16 --timeout 120 || exit 1
timeout 240 node "$HERE/serve_load_client.mjs" "http://127.0.0.1:$port" "$server_pid" "$ROUNDS" | tee "$TMP/client.log"
status=${PIPESTATUS[0]}
[[ $status -eq 124 ]] && echo "FAIL: the load did not finish in 240 s"
summary=$(grep '^{' "$TMP/client.log" | tail -1)
if [[ -n $summary ]]; then
  growth=$(/usr/bin/python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(s["rss_end_kib"]-s["rss_after_warmup_kib"])' "$summary")
  if (( growth > 32768 )); then
    echo "FAIL: RSS grew by $growth KiB after warm-up (bound 32768)"
    status=1
  else
    echo "PASS: RSS after warm-up flat within 32 MiB (grew $growth KiB)"
  fi
fi
stop_server || status=1
[[ $status -eq 0 ]] || tail -20 "$TMP/server.log"
exit $status
