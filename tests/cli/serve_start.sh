# Sourced by the serve tests: start_server LOG ARGS... starts `gemma4 serve` on a free port, sets
# server_pid and port (empty on failure); stop_server sends SIGTERM and waits up to 10 s for a clean exit.
start_server() {
  local log=$1
  shift
  "$GEMMA4" serve --port 0 "$@" 2>"$log" &
  server_pid=$!
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: server did not start: $(cat "$log")"
  return 1
}
stop_server() {
  [[ -n ${server_pid:-} ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: server still running 10 s after SIGTERM"
    kill -KILL "$server_pid"
    return 1
  fi
  wait "$server_pid"
  local rc=$?
  server_pid=
  return $rc
}
