#!/bin/bash
# Gemma 4 encoders from GGUF: for the KerasHub vision, audio and multimodal_all fixtures, write
#  - a text GGUF (gemma4 convert) plus a llama.cpp projector file (mmproj.gguf), and
#  - an ollama-style single file (text + v.* / a.* / mm.* tensors, tokenizer model "llama" / pre "gemma4"),
# the encoder files with gguf-py from llama.cpp's bundle, applying the converters' rules to the fixtures'
# Hugging Face tensors (tests/formats/write_gguf_encoders.py, independent of this library); then check that
# both reproduce the fixtures' KerasHub outputs (gemma4_tests' GgufEncoders, 1e-4 relative) and that malformed
# projector files give clear errors.
# Usage: bash tests/formats/test_mmproj.sh BUILD_DIR
set -uo pipefail
BUILD="$(cd "${1:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GEMMA4="$BUILD/bin/gemma4"
TESTS="$BUILD/bin/gemma4_tests"
PY=/usr/bin/python3
FIXTURES="$ROOT/tests/data/kerashub_fixtures"
BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for tool in "$GEMMA4" "$TESTS"; do [[ -x "$tool" ]] || { echo "FAIL: $tool is not built"; exit 1; }; done
[[ -f "$BUNDLE" ]] || { echo "FAIL: $BUNDLE is missing (run ./setup.sh)"; exit 1; }
git clone -q "$BUNDLE" "$WORK/llama" 2>/dev/null || { echo "FAIL: cannot clone $BUNDLE"; exit 1; }
export GGUF_PY="$WORK/llama/gguf-py"
WRITER="$ROOT/tests/formats/write_gguf_encoders.py"

for name in vision audio multimodal_all; do
  dir="$WORK/files/$name"
  mkdir -p "$dir/ollama"
  "$GEMMA4" convert --model "$FIXTURES/$name" --out "$dir/text.gguf" >/dev/null || fail "convert $name"
  "$PY" "$WRITER" mmproj "$FIXTURES/$name" "$dir/mmproj.gguf" || fail "writing $name mmproj"
  "$PY" "$WRITER" ollama "$FIXTURES/$name" "$dir/text.gguf" "$dir/ollama/model.gguf" || fail "writing $name ollama file"
done

# The fixtures through both layouts (9 cases: 3 fixtures x explicit mmproj / discovered mmproj / ollama).
out=$(GEMMA4_GGUF_ENCODERS_DIR="$WORK/files" "$TESTS" --gtest_filter='KerasHub/GgufEncoders.*' 2>&1)
echo "$out" | grep -E "max abs error|PASSED|FAILED|SKIPPED|rror" | head -80
if [[ "$out" != *"[  PASSED  ] 9 tests."* || "$out" == *"SKIPPED"* || "$out" == *"FAILED"* ]]; then
  fail "GgufEncoders did not pass all 9 cases"
fi

# CLI: --mmproj loads the encoders (generation runs with an image-capable model), and errors are clear.
expect_error() {  # expect_error "message part" args...
  local want=$1
  shift
  local text
  if text=$("$GEMMA4" "$@" 2>&1); then
    fail "expected an error from: $*"
  elif [[ "$text" != *"$want"* ]]; then
    fail "error of '$*' does not mention '$want': $text"
  else
    echo "ok: $want"
  fi
}
# (multimodal_all's text model: the other fixtures' 256-token synthesized vocabularies do not load as tokenizers)
TEXT="$WORK/files/multimodal_all/text.gguf"
"$GEMMA4" generate --model "$TEXT" --mmproj "$WORK/files/multimodal_all/mmproj.gguf" --tokens 2,10 --max-tokens 2 --greedy \
  >/dev/null 2>&1 || fail "generate with --mmproj"
"$GEMMA4" generate --model "$TEXT" --mmproj none --tokens 2,10 --max-tokens 2 --greedy >/dev/null 2>&1 ||
  fail "generate with --mmproj none"
for kind in projector missing shape; do
  mkdir -p "$WORK/bad/$kind"
  "$PY" "$WRITER" bad "$kind" "$FIXTURES/multimodal_all" "$WORK/bad/$kind/mmproj-bad.gguf" || fail "writing bad $kind"
done
expect_error "vision projector type is 'gemma3', expected 'gemma4v'" generate --model "$TEXT" \
  --mmproj "$WORK/bad/projector/mmproj-bad.gguf" --tokens 2 --max-tokens 1
expect_error "missing tensor 'v.blk.1.attn_k.weight' (vision_tower.encoder.layers.1.self_attn.k_proj.linear.weight, expected shape [16, 16])" \
  generate --model "$TEXT" --mmproj "$WORK/bad/missing/mmproj-bad.gguf" --tokens 2 --max-tokens 1
expect_error "tensor 'v.blk.0.ffn_up.weight' (vision_tower.encoder.layers.0.mlp.up_proj.linear.weight) has shape [33, 16]" \
  generate --model "$TEXT" --mmproj "$WORK/bad/shape/mmproj-bad.gguf" --tokens 2 --max-tokens 1
expect_error "mmproj file '$WORK/none.gguf' does not exist" generate --model "$TEXT" --mmproj "$WORK/none.gguf" --tokens 2
expect_error "general.architecture is 'gemma4', expected 'clip'" generate --model "$TEXT" --mmproj "$TEXT" --tokens 2
# The projections must reach the text model's width (the vision fixture's text model is 8 wide).
expect_error "metadata 'clip.vision.projection_dim' is 16 but the text model's embedding_length gives 64" \
  generate --model builtin:tiny --mmproj "$WORK/files/multimodal_all/mmproj.gguf" --tokens 2
# Discovery refuses to guess between two projector files.
cp "$WORK/files/multimodal_all/mmproj.gguf" "$WORK/files/multimodal_all/mmproj-copy.gguf"
expect_error "2 projector files beside it" generate --model "$TEXT" --tokens 2 --max-tokens 1
rm "$WORK/files/multimodal_all/mmproj-copy.gguf"

# An ollama file whose encoder has a tensor no reader knows is refused, naming the tensor.
"$PY" - "$WORK/files/multimodal_all/ollama/model.gguf" "$WORK/bad/extra.gguf" <<'EOF' || fail "writing ollama extra"
import os, sys
import numpy as np
sys.path.insert(0, os.environ["GGUF_PY"])
import gguf
reader = gguf.GGUFReader(sys.argv[1])
w = gguf.GGUFWriter(sys.argv[2], "gemma4")
for key, field in reader.fields.items():
    if key.startswith("GGUF.") or key == "general.architecture":
        continue
    vtype = field.types[0]
    w.add_key_value(key, field.contents(), vtype, sub_type=field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None)
for t in reader.tensors:
    w.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
w.add_tensor("v.blk.0.attn_q.bias", np.zeros(16, dtype=np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
EOF
expect_error "unexpected tensor 'v.blk.0.attn_q.bias'" generate --model "$WORK/bad/extra.gguf" --tokens 2

exit $((failures > 0))
