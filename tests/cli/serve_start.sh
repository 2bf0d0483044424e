# Sourced by the serve tests: start_server LOG ARGS... starts `gemma4 serve --port 0 ARGS` in the background and
# sets SERVER_PID and SERVER_PORT once it listens with the model loaded (30 s at most); stop_server ends it.
start_server() {
  local log=$1
  shift
  "$GEMMA4" serve --port 0 "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  SERVER_PORT=""
  for _ in $(seq 300); do
    SERVER_PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [[ -n "$SERVER_PORT" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: the server did not start:"; cat "$log"
  return 1
}
stop_server() {
  [[ -n "${SERVER_PID:-}" ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
