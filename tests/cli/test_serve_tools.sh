#!/usr/bin/env bash
# `gemma4 serve` with tools and thinking, end to end on the built-in tiny model (its random weights write no
# tool calls, so this checks the prompt side and the response shapes; the reply parsing is unit-tested):
# a request with tools is accepted and its prompt_tokens equal the length of the prompt `gemma4 tokenize --chat
# --render` writes for the same conversation (tools, tool calls, tool results, reasoning, thinking included); tool_choice "none" renders
# the prompt without tools and "auto" with them; bad tool fields get 400 naming the field; streamed replies
# carry no markup. (test_openai_client.sh drives a server with the official openai client.)
# Usage: test_serve_tools.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_serve_tools.sh BUILD_DIR}
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
"$GEMMA4" serve --model $MODEL --context 1024 --port 0 2>"$TMP/server.log" &
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

timeout 120 "$PYTHON" - "$port" "$GEMMA4" "$MODEL" >"$TMP/http.log" 2>&1 <<'EOF'
import http.client, json, subprocess, sys

port, gemma4, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
failures = 0
MARKUP = ["<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", '<|"|>', "<turn|>", "<|turn>", "<|tool_response>"]

def check(ok, what):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        failures += 1

def post(body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()

def tokenize_chat(request):
    # The token count of the prompt `gemma4 tokenize --chat --render` writes for one chat request (its own reading
    # of the request and the model's template), counted by the server's /v1/completions, which takes the text as
    # it is (`tokenize --model` cannot load the built-in model's tokenizer, only its template).
    out = subprocess.run([gemma4, "tokenize", "--model", model, "--chat", "--render"], input=json.dumps(request) + "\n",
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    text = json.loads(out.stdout)
    if not text.startswith("<bos>"):
        raise RuntimeError(f"the rendered prompt does not start with <bos>: {text[:80]!r}")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/completions", body=json.dumps({"prompt": text, "max_tokens": 1}).encode(),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read().decode()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(body)
    return json.loads(body)["usage"]["prompt_tokens"]

def prompt_tokens(body):
    status, text = post(dict(body, max_tokens=2, temperature=0))
    if status != 200:
        return None, f"{status} {text[:300]}"
    return json.loads(text)["usage"]["prompt_tokens"], text

weather = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                    "unit": {"type": "string", "enum": ["C", "F"]}},
                   "required": ["city"]}}}
clock = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
question = [{"role": "user", "content": "What is the weather in Paris?"}]
conversation = question + [
    {"role": "assistant", "content": None, "reasoning_content": "I should look it up.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"C\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 21}"},
]

# A later user turn: the first turn's reasoning is dropped unless preserve_thinking keeps it.
later = conversation + [{"role": "assistant", "content": "It is 21 C."}, {"role": "user", "content": "And tomorrow?"}]

# prompt_tokens = gemma4 tokenize --chat of the same conversation.
cases = [
    ("tools", {"messages": question, "tools": [weather, clock]}, {"messages": question, "tools": [weather, clock]}),
    ("tool_choice auto", {"messages": question, "tools": [weather], "tool_choice": "auto",
                          "parallel_tool_calls": True}, {"messages": question, "tools": [weather]}),
    ("tool_choice none", {"messages": question, "tools": [weather], "tool_choice": "none"}, {"messages": question}),
    ("tool call and result in the conversation", {"messages": conversation, "tools": [weather]},
     {"messages": conversation, "tools": [weather]}),
    ("enable_thinking", {"messages": conversation, "tools": [weather], "chat_template_kwargs": {"enable_thinking": True}},
     {"messages": conversation, "tools": [weather], "enable_thinking": True}),
    ("thinking, a later turn", {"messages": later, "tools": [weather], "chat_template_kwargs": {"enable_thinking": True}},
     {"messages": later, "tools": [weather], "enable_thinking": True}),
    ("preserve_thinking", {"messages": later, "tools": [weather],
                           "chat_template_kwargs": {"enable_thinking": True, "preserve_thinking": True}},
     {"messages": later, "tools": [weather], "enable_thinking": True, "preserve_thinking": True}),
]
counts = {}
for name, body, reference in cases:
    try:
        expected = tokenize_chat(reference)
    except Exception as e:
        check(False, f"{name}: gemma4 tokenize --chat failed: {e}")
        continue
    got, text = prompt_tokens(body)
    counts[name] = got
    check(got == expected, f"{name}: prompt_tokens {got} = tokenize --chat --render's {expected}" + ("" if got else f" ({text})"))
plain = tokenize_chat({"messages": question})
check(counts.get("tool_choice auto") not in (None, plain) and counts.get("tool_choice none") == plain,
      f"tool_choice none renders without the tools ({counts.get('tool_choice none')} = {plain} tokens), "
      f"auto with them ({counts.get('tool_choice auto')})")
check(counts.get("enable_thinking") != counts.get("tool call and result in the conversation"),
      "enable_thinking changes the prompt")
check(counts.get("preserve_thinking") != counts.get("thinking, a later turn"),
      f"preserve_thinking keeps the earlier reasoning ({counts.get('preserve_thinking')} vs "
      f"{counts.get('thinking, a later turn')} tokens)")

# A reply with tools: the response shape OpenAI documents; no markup in content or reasoning.
status, text = post({"messages": question, "tools": [weather], "max_tokens": 12, "temperature": 0})
reply = json.loads(text) if status == 200 else {}
choice = (reply.get("choices") or [{}])[0]
message = choice.get("message", {})
check(status == 200 and message.get("role") == "assistant" and choice.get("finish_reason") in ("stop", "length", "tool_calls")
      and isinstance(message.get("content"), str) and not any(m in message.get("content", "") for m in MARKUP),
      f"reply with tools: {text[:300]}")

# Streamed: the deltas add up to the same reply, none carries markup, the last chunk has the finish_reason.
status, text = post({"messages": question, "tools": [weather], "max_tokens": 12, "temperature": 0, "stream": True,
                     "stream_options": {"include_usage": True}})
events = [e[len("data: "):] for e in text.split("\n\n") if e.startswith("data: ")]
chunks = [json.loads(e) for e in events[:-1]] if events and events[-1] == "[DONE]" else []
deltas = [c["choices"][0] for c in chunks if c.get("choices")]
streamed = "".join(d["delta"].get("content") or "" for d in deltas)
check(status == 200 and bool(deltas) and streamed == message.get("content")
      and not any(m in json.dumps(d["delta"]) for d in deltas for m in MARKUP)
      and deltas[-1]["finish_reason"] == choice.get("finish_reason")
      and all(d["finish_reason"] is None for d in deltas[:-1])
      and chunks[-1].get("usage", {}).get("prompt_tokens") == counts.get("tool_choice auto"),
      f"streamed reply with tools: {streamed!r} vs {message.get('content')!r}, {len(chunks)} chunks")

# Bad tool fields: 400 naming the field.
bad = [
    ({"tools": {"name": "get_weather"}}, "tools", "invalid_type"),
    ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name", "missing_field"),
    ({"tools": [weather, {"type": "function", "function": {"name": "bad name"}}]}, "tools[1].function.name",
     "invalid_value"),
    ({"tools": [weather, weather]}, "tools[1].function.name", "invalid_value"),
    ({"tools": [{"type": "retrieval"}]}, "tools[0].type", "unsupported_value"),
    ({"tools": [weather], "tool_choice": "required"}, "tool_choice", "unsupported_value"),
    ({"tools": [weather], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, "tool_choice",
     "unsupported_value"),
    ({"tools": [weather], "parallel_tool_calls": "no"}, "parallel_tool_calls", "invalid_type"),
    ({"chat_template_kwargs": {"enable_thinking": "yes"}}, "chat_template_kwargs.enable_thinking", "invalid_type"),
]
for fields, param, code in bad:
    status, text = post(dict({"messages": question}, **fields))
    try:
        error = json.loads(text)["error"]
        ok = status == 400 and error["param"] == param and error["code"] == code and param in error["message"]
    except (ValueError, KeyError, TypeError):
        ok = False
    check(ok, f"{json.dumps(fields)[:80]} -> {status} {text[:200]}")
sys.exit(1 if failures else 0)
EOF
python_status=$?
cat "$TMP/http.log"
passed=$((passed + $(grep -c '^PASS: ' "$TMP/http.log")))
failed=$((failed + $(grep -c '^FAIL: ' "$TMP/http.log")))
[[ $python_status -eq 0 ]] || fail "HTTP checks ended with status $python_status"

kill -TERM $server_pid
for _ in $(seq 50); do
  kill -0 $server_pid 2>/dev/null || break
  sleep 0.1
done
if kill -0 $server_pid 2>/dev/null; then
  fail "server still running 5 s after SIGTERM"
else
  wait $server_pid
  server_pid=
  pass "server stopped"
fi

echo "passed $passed, failed $failed"
[[ $failed -eq 0 ]]
