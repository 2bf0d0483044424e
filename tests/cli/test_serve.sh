#!/usr/bin/env bash
# `gemma4 serve` end to end on the built-in tiny model: a greedy chat completion says exactly what
# `gemma4 generate` says for the same prompt, a streamed one's deltas add up to the same text, /v1/completions
# matches `generate --raw`, and bad requests get OpenAI error objects (400/404/405/413) while the server keeps
# answering. Finally SIGTERM stops it cleanly.
# Usage: test_serve.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_serve.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
PYTHON=/usr/bin/python3
TMP=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

MODEL=builtin:tiny
CONTEXT=128
PROMPT="Tell me a story about a cat."

# The reference: the CLI's greedy answers (text on stdout plus one newline; counts and stop reason on stderr).
"$GEMMA4" generate --model $MODEL --context $CONTEXT --prompt "$PROMPT" --greedy --max-tokens 8 \
  >"$TMP/chat.txt" 2>"$TMP/chat.err" || fail "gemma4 generate ($(cat "$TMP/chat.err"))"
"$GEMMA4" generate --model $MODEL --context $CONTEXT --raw --prompt "<bos>Once upon a time" --greedy --max-tokens 6 \
  >"$TMP/raw.txt" 2>"$TMP/raw.err" || fail "gemma4 generate --raw ($(cat "$TMP/raw.err"))"

# Port 0: the server picks a free port and prints it.
"$GEMMA4" serve --model $MODEL --context $CONTEXT --port 0 2>"$TMP/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/server.log")
  [[ -n $port ]] && break
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  fail "server did not start: $(cat "$TMP/server.log")"
  echo "passed $passed, failed $failed"
  exit 1
fi
pass "server listening on port $port"

timeout 60 "$PYTHON" - "$port" "$TMP" "$PROMPT" >"$TMP/http.log" 2>&1 <<'EOF'
import http.client, json, re, sys, time

port, tmp, prompt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
failures = 0

def check(ok, what):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        failures += 1

def request(method, path, body=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        conn.close()

def reference(name):  # text printed by `gemma4 generate`, and its token count and stop reason
    text = open(f"{tmp}/{name}.txt", encoding="utf-8", newline="").read()  # keep "\r" as it is
    assert text.endswith("\n")
    stats = open(f"{tmp}/{name}.err").read()
    count = int(re.search(r"generated: (\d+) tokens", stats).group(1))
    stop = re.search(r"stop: (\w+)", stats).group(1)
    return text[:-1], count, "length" if stop in ("max_tokens", "context_full") else "stop"

def error_object(status, body, expected_status, what, param=None):
    try:
        error = json.loads(body)["error"]
        ok = (status == expected_status and isinstance(error["message"], str) and error["message"]
              and "type" in error and (param is None or error["param"] == param))
    except (ValueError, KeyError, TypeError):
        ok, error = False, body
    check(ok, f"{what} -> {status} {error if ok else body[:300]}")

for _ in range(50):
    try:
        if request("GET", "/health")[0] == 200:
            break
    except OSError:
        time.sleep(0.1)
check(request("GET", "/health")[0] == 200, "GET /health")

# Greedy chat completion = gemma4 generate --greedy.
expected, count, finish = reference("chat")
chat = {"model": "anything", "messages": [{"role": "user", "content": prompt}], "temperature": 0, "max_tokens": 8}
status, content_type, body = request("POST", "/v1/chat/completions", chat)
reply = json.loads(body) if status == 200 else {}
text = reply.get("choices", [{}])[0].get("message", {}).get("content")
check(status == 200 and content_type.startswith("application/json"), f"chat completion -> {status} {body[:200]}")
check(text == expected, f"chat text equals gemma4 generate's: {text!r} vs {expected!r}")
check(reply.get("object") == "chat.completion" and reply.get("id", "").startswith("chatcmpl-")
      and reply.get("model") == "anything", "chat completion id/object/model")
usage = reply.get("usage", {})
check(usage.get("completion_tokens") == count and reply["choices"][0].get("finish_reason") == finish
      and usage.get("prompt_tokens", 0) > 0
      and usage.get("total_tokens") == usage.get("prompt_tokens", 0) + count,
      f"usage {usage} and finish_reason {reply.get('choices', [{}])[0].get('finish_reason')} "
      f"match generate's {count} tokens / {finish}")

# The same request streamed: role first, content deltas adding up to the same text, finish_reason, [DONE].
status, content_type, body = request("POST", "/v1/chat/completions",
                                     dict(chat, stream=True, stream_options={"include_usage": True}))
events = [line[len("data: "):] for line in body.split("\n\n") if line.startswith("data: ")]
check(status == 200 and content_type.startswith("text/event-stream") and events and events[-1] == "[DONE]",
      f"streamed chat -> {status} {content_type}, {len(events)} events, last {events[-1:] }")
chunks = [json.loads(e) for e in events[:-1]]
choices = [c["choices"][0] for c in chunks if c.get("choices")]
streamed = "".join(c["delta"].get("content") or "" for c in choices)
check(bool(choices) and choices[0]["delta"].get("role") == "assistant", "first chunk announces the assistant role")
check(streamed == text, f"streamed deltas equal the non-streamed text: {streamed!r}")
check(bool(choices) and choices[-1]["finish_reason"] == finish and
      all(c["finish_reason"] is None for c in choices[:-1]), "only the last chunk has a finish_reason")
check(bool(chunks) and chunks[-1].get("usage", {}).get("completion_tokens") == count, "usage chunk at the end")
check(all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks),
      "every chunk has one id and object chat.completion.chunk")

# /v1/completions = gemma4 generate --raw with <bos> in front.
expected, count, finish = reference("raw")
status, _, body = request("POST", "/v1/completions",
                          {"prompt": "Once upon a time", "temperature": 0, "max_tokens": 6})
reply = json.loads(body) if status == 200 else {}
text = reply.get("choices", [{}])[0].get("text")
check(status == 200 and reply.get("object") == "text_completion" and text == expected
      and reply["usage"]["completion_tokens"] == count, f"completion text {text!r} vs generate --raw {expected!r}")

status, _, body = request("GET", "/v1/models")
models = json.loads(body) if status == 200 else {}
check(status == 200 and [m["id"] for m in models.get("data", [])] == ["builtin:tiny"], f"/v1/models -> {body}")

# Bad requests: an OpenAI error object, the right status, and the server still up.
status, _, body = request("POST", "/v1/chat/completions", raw=b'{"messages": [{"role": "user", "content": "Hi"}')
error_object(status, body, 400, "malformed JSON")
check("not valid JSON" in body and "column" in body, "malformed JSON: the message says where")
status, _, body = request("POST", "/v1/chat/completions", {"max_tokens": 4})
error_object(status, body, 400, "missing messages", "messages")
status, _, body = request("POST", "/v1/chat/completions", dict(chat, temperature=-1))
error_object(status, body, 400, "temperature -1", "temperature")
status, _, body = request("POST", "/v1/chat/completions",
                          {"messages": [{"role": "user", "content": "word " * 400}], "max_tokens": 2})
error_object(status, body, 400, "prompt longer than the context", "messages")
status, _, body = request("POST", "/v1/chat/completions",
                          {"messages": [{"role": "user", "content": "word " * 400}], "max_tokens": 2, "stream": True})
error_object(status, body, 400, "streamed prompt longer than the context", "messages")
image_part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
status, _, body = request("POST", "/v1/chat/completions",
                          {"messages": [{"role": "user", "content": [image_part, {"type": "text", "text": "Hi"}]}]})
error_object(status, body, 400, "image for a model without a vision encoder", "messages")
check("no vision encoder" in body, f"image without a vision encoder: the message says why: {body}")
status, _, body = request("GET", "/v1/nothing")
error_object(status, body, 404, "unknown path")
status, _, body = request("GET", "/v1/chat/completions")
error_object(status, body, 405, "GET on a POST endpoint")
try:
    status, _, body = request("POST", "/v1/chat/completions", raw=b"x" * (9 << 20))
    error_object(status, body, 413, "9 MiB body")
except OSError as e:  # the server may close the connection before the whole body is sent
    check(False, f"9 MiB body: connection error {e}")
status, _, body = request("GET", "/health")
check(status == 200 and json.loads(body)["status"] == "ok", "server still answers /health after bad requests")
sys.exit(1 if failures else 0)
EOF
python_status=$?
cat "$TMP/http.log"
passed=$((passed + $(grep -c '^PASS: ' "$TMP/http.log")))
failed=$((failed + $(grep -c '^FAIL: ' "$TMP/http.log")))
[[ $python_status -eq 0 ]] || fail "HTTP checks ended with status $python_status"

# A second server on the same port is an error, not a silent port share.
timeout 20 "$GEMMA4" serve --model $MODEL --port "$port" >/dev/null 2>"$TMP/busy.err"
status=$?
[[ $status -eq 1 ]] && grep -q "cannot listen" "$TMP/busy.err" && pass "busy port: $(cat "$TMP/busy.err")" ||
  fail "busy port: status $status, $(cat "$TMP/busy.err")"

# A model that fails to load at once ends the server with its error (the listener, started first, is stopped
# even when the failure comes before it began to listen).
for attempt in 1 2 3; do
  timeout 20 "$GEMMA4" serve --model "$TMP/no_such_model" --port 0 >/dev/null 2>"$TMP/missing.err"
  status=$?
  [[ $status -eq 1 ]] && grep -q "no_such_model' does not exist" "$TMP/missing.err" &&
    pass "missing model ends the server (try $attempt)" || fail "missing model: status $status, $(cat "$TMP/missing.err")"
done

# SIGTERM: the server stops by itself, exit status 0.
kill -TERM $server_pid
for _ in $(seq 50); do
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
if kill -0 $server_pid 2>/dev/null; then
  fail "server still running 5 s after SIGTERM"
else
  wait $server_pid
  status=$?
  server_pid=
  [[ $status -eq 0 ]] && grep -q "stopped" "$TMP/server.log" && pass "SIGTERM stops the server cleanly" ||
    fail "SIGTERM: exit status $status, log: $(tail -3 "$TMP/server.log")"
fi

echo "passed $passed, failed $failed"
[[ $failed -eq 0 ]]
