#!/usr/bin/env bash
# The official `openai` npm client against `gemma4 serve --parallel` on builtin:tiny: logprobs / top_logprobs
# (chat and completions, streamed and whole), n > 1 (whole and streamed), stream_options.include_usage, and
# 429 with Retry-After once the slots and the queue are full (serve_batching_client.mjs has the checks).
# Usage: test_serve_batching.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_serve_batching.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
server_pid=
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$TMP"' EXIT
source "$HERE/serve_start.sh"
[[ -f "$HERE/../../node_modules/openai/package.json" ]] || { echo "FAIL: node_modules/openai is missing (run ./setup.sh)"; exit 1; }

# Three slots and no queue: while a 3-choice request streams, another is refused.
start_server "$TMP/server.log" --model builtin:tiny --context 512 --parallel 3 --queue 0 || exit 1
timeout 120 node "$HERE/serve_batching_client.mjs" "http://127.0.0.1:$port/v1"
status=$?
[[ $status -eq 124 ]] && echo "FAIL: the client checks did not finish in 120 s"
stop_server || status=1
[[ $status -eq 0 ]] || tail -20 "$TMP/server.log"
exit $status
