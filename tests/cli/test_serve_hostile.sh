#!/bin/bash
# gemma4 serve under hostile traffic on loopback (tests/cli/serve_under_fire.py hostile): slowloris, oversized
# headers, invalid UTF-8, JSON bombs, 3000 connections opened and dropped, clients vanishing mid-stream, prompts
# at the context limit, then requests during shutdown; every other client keeps being served, memory bounded.
# Usage: bash tests/cli/test_serve_hostile.sh BUILD_DIR
set -uo pipefail
BUILD="$(cd "${1:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GEMMA4="$BUILD/bin/gemma4"
TMP=$(mktemp -d)
source "$ROOT/tests/cli/serve_start.sh"
trap 'stop_server; rm -rf "$TMP"' EXIT
[[ -x "$GEMMA4" ]] || { echo "FAIL: $GEMMA4 is not built"; exit 1; }
failures=0
CONTEXT=48
start_server "$TMP/server.log" --model builtin:tiny --context $CONTEXT --threads 1 || exit 1
timeout 600 /usr/bin/python3 "$ROOT/tests/cli/serve_under_fire.py" hostile "$port" "$server_pid" $CONTEXT || failures=$((failures + 1))

# Requests during shutdown: streams running and new requests arriving while SIGTERM lands; the server exits
# (status 0) within 15 s and without a crash.
for i in 1 2 3 4; do
  curl -s -N -m 20 "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 400, "stream": true}' > /dev/null &
done
sleep 0.5
kill -TERM "$server_pid"
for i in $(seq 20); do curl -s -m 2 "http://127.0.0.1:$port/health" > /dev/null & done
status=0
start=$SECONDS
for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "FAIL: the server is still running 15 s after SIGTERM"; failures=$((failures + 1)); kill -KILL "$server_pid"
fi
wait "$server_pid"; status=$?
server_pid=""
wait 2>/dev/null
if [[ $status -ne 0 ]]; then echo "FAIL: exit status $status after SIGTERM under load"; tail -5 "$TMP/server.log"; failures=$((failures + 1))
else echo "PASS: SIGTERM with streams running and requests arriving: clean exit in $((SECONDS - start)) s"; fi
grep -q "AddressSanitizer\|terminate called\|Segmentation" "$TMP/server.log" && { echo "FAIL: crash report in the log"; failures=$((failures + 1)); }

((failures)) && { echo "$failures failure(s)"; exit 1; }
echo "all hostile-traffic checks passed"
