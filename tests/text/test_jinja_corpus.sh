#!/usr/bin/env bash
# Jinja interpreter agreement test: every chat template in tests/data/chat_templates rendered by gemma4's
# interpreter (build/bin/render_template) and by Python's jinja2 configured as transformers'
# apply_chat_template configures it, on a fixed-seed set of random chat requests (system turns, multi-part
# content, tools with nested JSON-schema parameters, tool calls with nested arguments, tool responses,
# reasoning, add_generation_prompt and enable_thinking on/off). Texts must be byte-identical, or both raise.
#
#   bash tests/text/test_jinja_corpus.sh BUILD_DIR        (JINJA_CASES=N to change the number of requests)
set -u -o pipefail
BUILD_DIR=${1:?usage: test_jinja_corpus.sh BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="$BUILD_DIR/bin/render_template"
[ -x "$BIN" ] || { echo "FAIL: $BIN not found (ninja -C $BUILD_DIR render_template)"; exit 1; }
/usr/bin/python3 -c 'import jinja2' 2>/dev/null || { echo "FAIL: /usr/bin/python3 has no jinja2 (apt install python3-jinja2)"; exit 1; }
exec /usr/bin/python3 "$HERE/jinja_corpus.py" "$BIN" "$ROOT/tests/data/chat_templates" "$ROOT/src/text/templates" --cases "${JINJA_CASES:-400}"
