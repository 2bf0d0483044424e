#!/bin/bash
# deploy/haproxy.cfg in front of two gemma4 serve replicas on loopback: requests spread over both, one `user`
# stays on one replica, a killed replica is taken out by the /health check and no request is lost (retries and
# redispatch). Skips (exit 0) with a message when haproxy is absent.
# Usage: bash tests/cli/test_haproxy.sh BUILD_DIR
set -uo pipefail
BUILD="$(cd "${1:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GEMMA4="$BUILD/bin/gemma4"
command -v haproxy >/dev/null || { echo "SKIP: haproxy is not installed (./setup.sh installs Debian's haproxy)"; exit 0; }
[[ -x "$GEMMA4" ]] || { echo "FAIL: $GEMMA4 is not built"; exit 1; }
TMP=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

P0=$(free_port); P1=$(free_port); P2=$(free_port)
"$GEMMA4" serve --model builtin:tiny --port "$P1" --alias replica1 --threads 1 > "$TMP/r1.log" 2>&1 & R1=$!; pids+=($R1)
"$GEMMA4" serve --model builtin:tiny --port "$P2" --alias replica2 --threads 1 > "$TMP/r2.log" 2>&1 & R2=$!; pids+=($R2)
GEMMA4_LISTEN=127.0.0.1:$P0 GEMMA4_REPLICA1=127.0.0.1:$P1 GEMMA4_REPLICA2=127.0.0.1:$P2 \
  haproxy -db -f "$ROOT/deploy/haproxy.cfg" > "$TMP/haproxy.log" 2>&1 & HA=$!; pids+=($HA)

timeout 300 /usr/bin/python3 - "$P0" "$R1" <<'PY' || failures=$((failures + 1))
import http.client, json, os, signal, sys, time
port, replica1_pid = int(sys.argv[1]), int(sys.argv[2])
failed = []
def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok: failed.append(what)
def chat(user, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "temperature": 0, "user": user}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read(); conn.close()
    return r.status, (json.loads(data).get("model") if r.status == 200 else data[:200])
# Both replicas up behind HAProxy (its checks need up to `rise 2` x 1 s).
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        seen = {chat(f"warm{i}")[1] for i in range(12)}
        if seen == {"replica1", "replica2"}: break
    except OSError: pass
    time.sleep(0.5)
served = [chat(f"user{i}") for i in range(40)]
replicas = [m for s, m in served if s == 200]
check(len(replicas) == 40, f"40 requests through HAProxy answered ({len(replicas)})")
check(set(replicas) == {"replica1", "replica2"}, f"requests spread: {replicas.count('replica1')} on replica1, {replicas.count('replica2')} on replica2")
sticky = {u: {chat(u)[1] for _ in range(5)} for u in ("alice", "bob", "carol", "dave")}
check(all(len(v) == 1 for v in sticky.values()), f"each user stays on one replica: {sticky}")
# Kill replica1 while requests flow: none may be lost.
results = []
for i in range(40):
    if i == 5: os.kill(replica1_pid, signal.SIGKILL)
    results.append(chat(f"after{i}"))
lost = [r for r in results if r[0] != 200]
check(not lost, f"replica1 killed mid-run: all 40 requests answered ({len(lost)} lost: {lost[:3]})")
time.sleep(3)  # fall 2 x inter 1 s
after = [chat(f"late{i}")[1] for i in range(10)]
check(after == ["replica2"] * 10, f"after the health check, everything goes to replica2: {after}")
sys.exit(1 if failed else 0)
PY
grep -q "replica1 is DOWN" "$TMP/haproxy.log" && echo "PASS: HAProxy marked replica1 DOWN: $(grep -m1 'replica1 is DOWN' "$TMP/haproxy.log" | cut -c1-140)" \
  || fail "HAProxy's log does not say replica1 went DOWN: $(tail -5 "$TMP/haproxy.log")"
((failures)) && { echo "$failures failure(s)"; tail -20 "$TMP/haproxy.log"; exit 1; }
echo "all HAProxy checks passed"
