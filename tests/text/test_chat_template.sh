#!/usr/bin/env bash
# Chat template agreement test: gemma4's rendering of Google's current Gemma 4 chat templates (built in from
# src/text/templates/: mainline and E-series) through its own Jinja interpreter and message conversion,
# against the same files rendered by Python's jinja2 the way Hugging Face's apply_chat_template does.
#
#   bash tests/text/test_chat_template.sh BUILD_DIR
#
# 1,000 random requests (chat_template_cases.py): system/developer prompts, multi-turn text, thinking in model
# turns, multimodal parts, tool declarations with nested JSON schemas, tool calls with typed arguments, tool
# responses, thinking on/off, with and without the generation prompt. Every rendered prompt must be identical.
# Environment: PYTHON_JINJA (a Python with jinja2; default: the first of python3, /usr/bin/python3 that has it),
# GEMMA4_JINJA_TEMPLATE (space-separated template files to test instead), KEEP_TMP=1.
set -u -o pipefail

BUILD_DIR=${1:?usage: test_chat_template.sh BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GEMMA4="$BUILD_DIR/bin/gemma4"
CASES=1000

die() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
PYTHON=${PYTHON_JINJA:-}
if [ -z "$PYTHON" ]; then
  for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'import jinja2' 2>/dev/null; then PYTHON=$candidate; break; fi
  done
fi
[ -n "$PYTHON" ] && "$PYTHON" -c 'import jinja2' 2>/dev/null || die "no Python with jinja2 (./setup.sh installs python3-jinja2; or set PYTHON_JINJA)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_chat_template.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

# Google's current templates, built into gemma4 (src/text/templates/): ours must render each exactly as jinja2.
TEMPLATES=${GEMMA4_JINJA_TEMPLATE:-"$ROOT/src/text/templates/gemma4-mainline.jinja $ROOT/src/text/templates/gemma4-e-series.jinja"}
"$PYTHON" "$HERE/chat_template_cases.py" --cases $CASES --seed 4 >"$TMP/requests.jsonl" || die "case generator failed"
: >"$TMP/expected.jsonl"
: >"$TMP/ours.jsonl"
for TEMPLATE in $TEMPLATES; do
  echo "template: ${TEMPLATE#$ROOT/}"
  "$PYTHON" "$HERE/chat_template_cases.py" --render "$TEMPLATE" <"$TMP/requests.jsonl" >>"$TMP/expected.jsonl" \
    2>"$TMP/render.err" || die "jinja2 rendering failed: $(tail -5 "$TMP/render.err")"
  "$GEMMA4" tokenize --chat --render --chat-template "$TEMPLATE" <"$TMP/requests.jsonl" >>"$TMP/ours.jsonl" \
    2>"$TMP/ours.err" || die "gemma4 tokenize --chat --render failed: $(tail -5 "$TMP/ours.err")"
done
cp "$TMP/requests.jsonl" "$TMP/one.jsonl"
for TEMPLATE in $TEMPLATES; do [ "$TEMPLATE" = "${TEMPLATES%% *}" ] || cat "$TMP/one.jsonl" >>"$TMP/requests.jsonl"; done

"$PYTHON" - "$TMP" <<'EOF'
import json
import sys

tmp = sys.argv[1]


def read(name):
    with open(f"{tmp}/{name}", encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line]


requests = read("requests.jsonl")
expected = [json.loads(l) for l in read("expected.jsonl")]
ours = [json.loads(l) for l in read("ours.jsonl")]
if len(ours) != len(expected):
    print(f"FAIL: {len(ours)} rendered prompts for {len(expected)} requests")
    print("0 passed, 1 failed")
    sys.exit(1)
bad = [i for i in range(len(expected)) if expected[i] != ours[i]]
print(f"chat template: {len(expected)} conversations compared, {len(bad)} mismatches")
for i in bad[:3]:
    a, b = expected[i], ours[i]
    k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
    print(f"  request {i + 1}: {requests[i][:300]}")
    print(f"    jinja2: {a[max(0, k - 60):k + 60]!r}")
    print(f"    ours:   {b[max(0, k - 60):k + 60]!r}")
print(f"{0 if bad else 1} passed, {1 if bad else 0} failed")
sys.exit(1 if bad else 0)
EOF
