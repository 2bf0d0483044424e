#!/usr/bin/env bash
# `gemma4 template`: the exact prompt a model gets, with the template it would use. For the built-in model
# (per-layer embeddings: Google's E2B/E4B template), for a folder that ships its own chat_template.jinja, with
# --chat-template, --tools, --thinking and --no-generation-prompt; expected texts rendered by Python's jinja2
# (tests/text/chat_template_cases.py --render, transformers' environment).
#   bash tests/cli/test_template_command.sh BUILD_DIR
set -u -o pipefail
BUILD_DIR=${1:?usage: test_template_command.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GEMMA4="$BUILD_DIR/bin/gemma4"
PY=/usr/bin/python3
CASES="$ROOT/tests/text/chat_template_cases.py"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
check() { if [ "$1" = "$2" ]; then passed=$((passed + 1)); echo "PASS: $3"; else failed=$((failed + 1)); echo "FAIL: $3"; echo "  got:      $1" | head -c 400; echo; echo "  expected: $2" | head -c 400; echo; fi; }
# jinja2's rendering of one request (JSON file) with TEMPLATE, as a JSON string.
expected() { "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$2" | "$PY" "$CASES" --render "$1"; }
# ours, as a JSON string.
ours() { "$GEMMA4" template "$@" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read(), ensure_ascii=True))'; }

cat >"$TMP/tools.json" <<'JSON'
[{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}}, "required": ["city"]}}}]
JSON
cat >"$TMP/conv.json" <<'JSON'
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"},
  {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
    "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
  {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]}
JSON
"$PY" - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
conv = json.load(open(f"{tmp}/conv.json"))
tools = json.load(open(f"{tmp}/tools.json"))
json.dump(dict(conv, tools=tools), open(f"{tmp}/with_tools.json", "w"))
json.dump(dict(conv, tools=tools, enable_thinking=True), open(f"{tmp}/thinking.json", "w"))
json.dump(dict(conv, add_generation_prompt=False), open(f"{tmp}/no_prompt.json", "w"))
PY
E="$ROOT/src/text/templates/gemma4-e-series.jinja"
M="$ROOT/src/text/templates/gemma4-mainline.jinja"

check "$(ours --model builtin:tiny --messages "$TMP/conv.json" --tools "$TMP/tools.json")" \
      "$(expected "$E" "$TMP/with_tools.json")" "builtin:tiny renders with Google's E-series template (tools)"
check "$(ours --model builtin:tiny --messages "$TMP/conv.json" --tools "$TMP/tools.json" --thinking)" \
      "$(expected "$E" "$TMP/thinking.json")" "--thinking (the prompt ends in the thought-channel cue)"
check "$(ours --model builtin:tiny --messages "$TMP/conv.json" --no-generation-prompt)" \
      "$(expected "$E" "$TMP/no_prompt.json")" "--no-generation-prompt"
check "$(ours --chat-template "$M" --messages "$TMP/conv.json" --tools "$TMP/tools.json")" \
      "$(expected "$M" "$TMP/with_tools.json")" "--chat-template FILE (mainline)"
origin=$("$GEMMA4" template --model builtin:tiny --messages "$TMP/conv.json" --show-origin 2>&1 >/dev/null)
check "$origin" "[template: built-in Gemma 4 E2B/E4B chat template (2026-07-09)]" "--show-origin names the template"

# A model folder that ships its own template uses it.
"$GEMMA4" make-test-model --config "$ROOT/tests/oracle/configs/dense.json" --seed 1 --out "$TMP/m" >/dev/null 2>&1
printf '%s' '{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}' >"$TMP/m/chat_template.jinja"
echo '{"messages": [{"role": "user", "content": "Hi"}]}' >"$TMP/hi.json"
check "$("$GEMMA4" template --model "$TMP/m" --messages "$TMP/hi.json")" "<bos><user>Hi" "the folder's chat_template.jinja"
printf '%s' '{% for m in messages %}' >"$TMP/broken.jinja"
err=$("$GEMMA4" template --chat-template "$TMP/broken.jinja" --messages "$TMP/hi.json" 2>&1)
case "$err" in *broken.jinja*) check ok ok "a broken template is an error naming the file";; *) check "$err" "an error naming broken.jinja" "broken template";; esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
