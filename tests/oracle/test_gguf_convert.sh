#!/usr/bin/env bash
# GGUF files written by `gemma4 convert`, checked against llama.cpp (node-llama-cpp 3.22.1) and against an
# independent Q8_0 encoder (tests/oracle/hf_to_gguf.py, NumPy).
#
#   bash tests/oracle/test_gguf_convert.sh BUILD_DIR [CONFIG_NAME...]     (default configs: all ple_kvshare)
#
# For each config (tests/oracle/configs/*.json), with random weights from `gemma4 make-test-model`:
#  1. convert to an F32 GGUF; our engine on the GGUF gives exactly the logits it gives on the safetensors folder;
#  2. llama.cpp loads that GGUF and its next-token log-probs agree with ours on the same file:
#     max 0.1, mean 0.005, argmax >= 95%;
#  3. Q8_0: our tensor bytes equal hf_to_gguf.py's NumPy Q8_0 encoding, tensor by tensor; our quantization
#     error (ours Q8_0 vs ours F32) and llama.cpp's (llama Q8_0 vs llama F32) are both printed, and ours must
#     not exceed llama.cpp's by more than 2x + 0.02; Q4_0 the same, printed with a 2x + 0.1 bound; our reader
#     gives the safetensors logits exactly on hf_to_gguf.py's F32 GGUF (an independent writer);
#  4. `convert --to hf` from the F32 GGUF gives back a folder with exactly the original logits, and a
#     tokenizer.json built from the GGUF's tokenizer keys;
#  5. that folder converts to a GGUF again (tokenizer from tokenizer.json) which llama.cpp loads and runs with
#     exactly the logits of step 2.
# Environment: PYTHON (default /usr/bin/python3), NODE (default node), KEEP_TMP=1 keeps the work folder.
set -u -o pipefail

BUILD_DIR=${1:?usage: test_gguf_convert.sh BUILD_DIR [CONFIG_NAME...]}
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
GEMMA4="$BUILD_DIR/bin/gemma4"
CONFIGS=("$@")
[ ${#CONFIGS[@]} -eq 0 ] && CONFIGS=(all ple_kvshare)
TOKENS=2,126,347,50,112,165,161,465,410,468,509,43,76,444,43,88,95,468,186,138,90,236,303,410,317,504,57,251,291,353,6,106,240,37,499,329,410,265,307,179,169,165,161,465,410,468,509,43

die() { echo "FAIL: $*"; exit 1; }
[ -x "$GEMMA4" ] || die "$GEMMA4 not found (build the project first)"
"$PYTHON" -c 'import numpy' 2>/dev/null || die "$PYTHON has no numpy (set PYTHON=...)"
[ -d "$ROOT/node_modules/node-llama-cpp" ] || die \
  "node-llama-cpp is not installed; run: cd $ROOT && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --ignore-scripts"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gemma4_gguf.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then echo "work folder: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

# Small helpers in Python: exact equality of two .npy files; max |dlogp| between two logit files; GGUF tensor
# bytes compared by name.
PYHELP="$TMP/help.py"
cat >"$PYHELP" <<'EOF'
import struct, sys
import numpy as np

def logprobs(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))

def read_gguf_tensors(path):
    """name -> (ggml type, bytes) for every tensor (minimal GGUF v3 reader, independent of ours)."""
    data = open(path, "rb").read()
    pos = 4
    version, n_t, n_kv = struct.unpack_from("<IQQ", data, pos); pos += 20
    def rstr():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos); pos += 8
        s = data[pos:pos + n]; pos += n
        return s.decode("utf-8")
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    align = 32
    for _ in range(n_kv):
        key = rstr()
        (t,) = struct.unpack_from("<I", data, pos); pos += 4
        def skip(t):
            nonlocal pos
            if t == 8:
                rstr()
            elif t == 9:
                et, n = struct.unpack_from("<IQ", data, pos); pos += 12
                for _ in range(n):
                    skip(et)
            else:
                pos += sizes[t]
        if key == "general.alignment":
            (align,) = struct.unpack_from("<I", data, pos)
        skip(t)
    infos = []
    for _ in range(n_t):
        name = rstr()
        (nd,) = struct.unpack_from("<I", data, pos); pos += 4
        ne = struct.unpack_from(f"<{nd}Q", data, pos); pos += 8 * nd
        t, off = struct.unpack_from("<IQ", data, pos); pos += 12
        infos.append((name, t, off))
    base = (pos + align - 1) // align * align
    offs = sorted([o for _, _, o in infos]) + [len(data) - base]
    out = {}
    for name, t, off in infos:
        nxt = min(o for o in offs if o > off) if any(o > off for o in offs) else len(data) - base
        out[name] = (t, data[base + off: base + nxt])
    return out

cmd = sys.argv[1]
if cmd == "equal":
    a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
    n = int((a != b).sum()) if a.shape == b.shape else -1
    print(f"{n} of {a.size} logits differ" if n >= 0 else f"shape mismatch {a.shape} vs {b.shape}")
    sys.exit(0 if n == 0 else 1)
elif cmd == "maxdiff":
    a, b = logprobs(np.load(sys.argv[2])), logprobs(np.load(sys.argv[3]))
    print(f"{np.abs(a - b).max():.6g}")
elif cmd == "same_tensors":
    ours, theirs = read_gguf_tensors(sys.argv[2]), read_gguf_tensors(sys.argv[3])
    checked = bad = 0
    for name, (t, b) in theirs.items():
        if name not in ours:
            print(f"  tensor {name} missing from ours"); bad += 1; continue
        t2, b2 = ours[name]
        n = min(len(b), len(b2))
        # compare the tensor bytes (padding lengths may differ at the very end)
        if t != t2 or b[:n].rstrip(b"\0") != b2[:n].rstrip(b"\0"):
            print(f"  tensor {name}: type {t2} vs {t}, bytes differ"); bad += 1
        checked += 1
    print(f"{checked} tensors compared, {bad} differ")
    sys.exit(0 if bad == 0 and checked > 0 else 1)
EOF

failed=0
fail() { echo "  FAIL: $*"; failed=$((failed + 1)); }
run() {  # run LOG CMD... : quiet unless it fails
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then echo "  command failed: $*"; tail -20 "$log" | sed 's/^/    | /'; return 1; fi
}

for name in "${CONFIGS[@]}"; do
  d="$TMP/$name"
  mkdir -p "$d"
  echo "=== $name ==="
  run "$d/make.log" "$GEMMA4" make-test-model --config "$HERE/configs/$name.json" --seed 7 --out "$d/model" ||
    { fail "$name: make-test-model"; continue; }
  run "$d/fwd_st.log" "$GEMMA4" forward --model "$d/model" --tokens "$TOKENS" --dump-logits "$d/ours_st.npy" ||
    { fail "$name: forward on safetensors"; continue; }
  for type in f32 q8_0 q4_0; do
    run "$d/convert_$type.log" "$GEMMA4" convert --model "$d/model" --out "$d/$type.gguf" --type "$type" ||
      { fail "$name: convert --type $type"; continue; }
    run "$d/fwd_$type.log" "$GEMMA4" forward --model "$d/$type.gguf" --tokens "$TOKENS" --dump-logits "$d/ours_$type.npy" ||
      fail "$name: our forward on $type.gguf"
    run "$d/llama_$type.log" "$NODE" "$HERE/llama_run.mjs" logits --model "$d/$type.gguf" --tokens "$TOKENS" \
      --out "$d/theirs_$type.npy" --threads 2 || fail "$name: llama.cpp on $type.gguf"
  done

  # 1. F32 GGUF == safetensors, exactly.
  echo "  ours F32 GGUF vs ours safetensors: $("$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_f32.npy")" ||
    fail "$name: F32 GGUF logits differ from safetensors logits"
  "$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_f32.npy" >/dev/null || fail "$name: F32 GGUF logits not identical"

  # 2. llama.cpp on the same F32 GGUF.
  "$PYTHON" "$HERE/compare_logprobs.py" "$d/ours_f32.npy" "$d/theirs_f32.npy" --max 0.1 --mean 0.005 --argmax 0.95 \
    --worst 0 --label "  $name F32 GGUF ours-vs-llama.cpp" || fail "$name: F32 GGUF disagrees with llama.cpp"

  # 3. Q8_0 bytes vs an independent NumPy encoder, and quantization error of both engines; our reader on the
  #    independent writer's F32 file.
  if run "$d/hf_to_gguf.log" "$PYTHON" "$HERE/hf_to_gguf.py" "$d/model" "$d/ref_q8_0.gguf" --outtype q8_0 --quiet &&
     run "$d/hf_to_gguf_f32.log" "$PYTHON" "$HERE/hf_to_gguf.py" "$d/model" "$d/ref_f32.gguf" --outtype f32 --quiet &&
     run "$d/fwd_ref_f32.log" "$GEMMA4" forward --model "$d/ref_f32.gguf" --tokens "$TOKENS" --dump-logits "$d/ours_ref_f32.npy"; then
    echo "  Q8_0 tensor bytes, ours vs hf_to_gguf.py: $("$PYTHON" "$PYHELP" same_tensors "$d/q8_0.gguf" "$d/ref_q8_0.gguf")"
    "$PYTHON" "$PYHELP" same_tensors "$d/q8_0.gguf" "$d/ref_q8_0.gguf" >/dev/null || fail "$name: Q8_0 bytes differ"
    echo "  ours on hf_to_gguf.py's F32 GGUF vs ours on safetensors: $("$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_ref_f32.npy")"
    "$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_ref_f32.npy" >/dev/null || fail "$name: reading hf_to_gguf.py's GGUF"
  else
    fail "$name: hf_to_gguf.py"
  fi
  for type in q8_0 q4_0; do
    ours_err=$("$PYTHON" "$PYHELP" maxdiff "$d/ours_f32.npy" "$d/ours_$type.npy")
    theirs_err=$("$PYTHON" "$PYHELP" maxdiff "$d/theirs_f32.npy" "$d/theirs_$type.npy")
    cross=$("$PYTHON" "$PYHELP" maxdiff "$d/ours_$type.npy" "$d/theirs_$type.npy")
    slack=$([ $type = q8_0 ] && echo 0.02 || echo 0.1)
    echo "  $type max |dlogp| vs own F32: ours $ours_err, llama.cpp $theirs_err; ours vs llama.cpp on the $type file: $cross"
    "$PYTHON" -c "import sys; sys.exit(0 if $ours_err <= 2 * $theirs_err + $slack else 1)" ||
      fail "$name: our $type error $ours_err exceeds 2 x llama.cpp's $theirs_err + $slack"
  done

  # 4. Back to a Hugging Face folder.
  if run "$d/to_hf.log" "$GEMMA4" convert --model "$d/f32.gguf" --to hf "$d/back" &&
     run "$d/fwd_back.log" "$GEMMA4" forward --model "$d/back" --tokens "$TOKENS" --dump-logits "$d/ours_back.npy"; then
    echo "  GGUF -> hf folder vs original: $("$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_back.npy")"
    "$PYTHON" "$PYHELP" equal "$d/ours_st.npy" "$d/ours_back.npy" >/dev/null || fail "$name: round trip changed logits"
    [ -f "$d/back/tokenizer.json" ] || fail "$name: no tokenizer.json written next to the converted folder"
    # 5. That folder's tokenizer.json (built from the GGUF's tokenizer keys) goes back into a GGUF llama.cpp loads.
    if run "$d/again.log" "$GEMMA4" convert --model "$d/back" --out "$d/again.gguf" &&
       run "$d/llama_again.log" "$NODE" "$HERE/llama_run.mjs" logits --model "$d/again.gguf" --tokens "$TOKENS" \
         --out "$d/theirs_again.npy" --threads 2; then
      echo "  llama.cpp on a GGUF made from tokenizer.json vs the first: $("$PYTHON" "$PYHELP" equal "$d/theirs_f32.npy" "$d/theirs_again.npy")"
      "$PYTHON" "$PYHELP" equal "$d/theirs_f32.npy" "$d/theirs_again.npy" >/dev/null || fail "$name: tokenizer.json GGUF differs"
    else
      fail "$name: GGUF from a folder with tokenizer.json"
    fi
  else
    fail "$name: convert --to hf"
  fi
done

echo "$failed failure(s)"
[ $failed -eq 0 ]
