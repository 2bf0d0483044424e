#!/usr/bin/env bash
# The official `openai` npm client (node_modules/openai, installed by ./setup.sh) against `gemma4 serve` on the
# built-in tiny model: chat plain, streamed and with tools, models, and 400 refusals as the client's APIError.
# The checks are in test_openai_client.mjs; this starts the server, bounds the run and stops the server.
# Usage: test_openai_client.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_openai_client.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

if [[ ! -f "$HERE/../../node_modules/openai/package.json" ]]; then
  echo "FAIL: node_modules/openai is missing (run ./setup.sh)"
  exit 1
fi

"$GEMMA4" serve --model builtin:tiny --context 1024 --port 0 2>"$TMP/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/server.log")
  [[ -n $port ]] && break
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "FAIL: server did not start: $(cat "$TMP/server.log")"
  exit 1
fi

timeout 120 node "$HERE/test_openai_client.mjs" "http://127.0.0.1:$port/v1"
status=$?
[[ $status -eq 124 ]] && echo "FAIL: the client checks did not finish in 120 s"

kill -TERM $server_pid
for _ in $(seq 50); do
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
if kill -0 $server_pid 2>/dev/null; then
  echo "FAIL: server still running 5 s after SIGTERM"
  status=1
else
  wait $server_pid || status=1
  server_pid=
fi
[[ $status -eq 0 ]] || tail -20 "$TMP/server.log"
exit $status
