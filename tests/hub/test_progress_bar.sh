#!/usr/bin/env bash
# The progress bar is drawn on a terminal and only there: `gemma4 pull` (bytes) and `generate` with a long
# prompt (prefill tokens) run under a pseudo-terminal (Python's pty module) and through a pipe; --quiet turns
# the bar off on the terminal too. The downloads come from tests/hub/fake_hub.py on 127.0.0.1.
# Usage: test_progress_bar.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_progress_bar.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d)
HUB_PID=
cleanup() { [[ -n $HUB_PID ]] && kill "$HUB_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
unset HF_HUB_OFFLINE HF_TOKEN

"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/dense.json" --seed 3 --out "$TMP/root/hf/acme/tiny" 2>/dev/null
timeout 200 $PY "$HERE/fake_hub.py" --root "$TMP/root" --port-file "$TMP/port" --log "$TMP/log" --lifetime 180 &
HUB_PID=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.1; done
export HF_ENDPOINT="http://127.0.0.1:$(cat "$TMP/port")"

# Runs a command with stderr (and stdout) on a pseudo-terminal; prints what the terminal showed (the terminal
# writes every newline as \r\n, so the bar is recognised by its erase-to-end-of-line sequence, ESC [ K).
on_tty() {
  $PY - "$@" <<'PY'
import os, pty, sys, select, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

# A download on the terminal: the bar with percent, bytes and the file name.
tty_out=$(HF_HUB_CACHE="$TMP/c1" on_tty "$GEMMA4" pull hf://acme/tiny)
if [[ $tty_out == *$'\e[K'* && $tty_out == *"100% [########################]"* && $tty_out == *"model.safetensors"* &&
      $tty_out == *"MiB"* ]]; then
  pass "pull on a terminal draws the bar: $(printf '%s' "$tty_out" | tr '\r' '\n' | grep -m1 'model.safetensors.*100%' | head -c 150)"
else
  fail "no bar on the terminal: $(printf '%q' "$tty_out" | head -c 600)"
fi
# Through a pipe: only the path on stdout and nothing on stderr.
pipe_out=$(HF_HUB_CACHE="$TMP/c2" "$GEMMA4" pull hf://acme/tiny 2>"$TMP/err")
[[ $pipe_out == "$TMP/c2/models--acme--tiny/snapshots/"* && ! -s $TMP/err ]] && pass "pull through a pipe: the path, no bar" ||
  fail "pipe: stdout '$pipe_out', stderr $(printf '%q' "$(cat "$TMP/err")" | head -c 300)"
# --quiet on the terminal: no bar.
quiet_out=$(HF_HUB_CACHE="$TMP/c3" on_tty "$GEMMA4" pull hf://acme/tiny --quiet)
[[ $quiet_out != *$'\e[K'* && $quiet_out != *"%"* && $quiet_out == *"$TMP/c3/models--acme--tiny"* ]] &&
  pass "--quiet on a terminal: no bar" || fail "--quiet: $(printf '%q' "$quiet_out" | head -c 300)"

# A prompt longer than one prefill chunk (256 tokens) reports its tokens on the terminal, not through a pipe.
tokens=$($PY -c "print(','.join(str(2 + i % 400) for i in range(600)))")
tty_out=$(on_tty "$GEMMA4" generate --model "$TMP/root/hf/acme/tiny" --tokens "$tokens" --max-tokens 2 --greedy)
[[ $tty_out == *"prefill"*"600/600 tokens"* ]] && pass "long prefill on a terminal: tokens counted" ||
  fail "prefill bar: $(printf '%q' "$tty_out" | head -c 400)"
"$GEMMA4" generate --model "$TMP/root/hf/acme/tiny" --tokens "$tokens" --max-tokens 2 --greedy >/dev/null 2>"$TMP/err"
! grep -q "prefill" "$TMP/err" && pass "long prefill through a pipe: no bar" || fail "prefill bar in a pipe: $(head -c 300 "$TMP/err")"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
