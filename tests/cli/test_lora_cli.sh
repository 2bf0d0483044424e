#!/usr/bin/env bash
# `--lora` on forward and generate: a random PEFT adapter applied by gemma4 must give the logits / greedy
# tokens of a model whose weights numpy merged independently (W + lora_alpha / r * B @ A).
# Usage: test_lora_cli.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: test_lora_cli.sh BUILD_DIR}
GEMMA4="$BUILD/bin/gemma4"
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

"$GEMMA4" make-test-model --config "$HERE/../oracle/configs/all.json" --seed 3 --embedding-std 0.02 --out "$TMP/hf" 2>/dev/null ||
  { echo "FAIL: make-test-model"; exit 1; }

# Writes the adapter (TMP/adapter) and the merged model (TMP/merged), reading and writing safetensors by hand.
/usr/bin/python3 - "$TMP" <<'EOF' || { echo "FAIL: writing the adapter with numpy"; exit 1; }
import json, os, shutil, struct, sys
import numpy as np
tmp = sys.argv[1]
def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info["dtype"]
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy()
    return out
def write(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, value in tensors.items():
        blob = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
weights = read(f"{tmp}/hf/model.safetensors")
rng = np.random.default_rng(5)
rank, alpha = 4, 16
adapter = {}
prefix = next(k for k in weights if k.endswith("layers.0.self_attn.q_proj.weight"))[:-len("layers.0.self_attn.q_proj.weight")]
for module in [prefix + "layers.0.self_attn.q_proj", prefix + "layers.1.self_attn.v_proj", prefix + "layers.0.mlp.down_proj"]:
    w = weights[module + ".weight"]
    a = rng.normal(0, 0.3, (rank, w.shape[1])).astype(np.float32)
    b = rng.normal(0, 0.3, (w.shape[0], rank)).astype(np.float32)
    adapter[f"base_model.model.{module}.lora_A.weight"] = a
    adapter[f"base_model.model.{module}.lora_B.weight"] = b
    weights[module + ".weight"] = (w.astype(np.float64) + alpha / rank * (b.astype(np.float64) @ a.astype(np.float64))).astype(np.float32)
os.makedirs(f"{tmp}/adapter")
write(f"{tmp}/adapter/adapter_model.safetensors", adapter)
json.dump({"peft_type": "LORA", "r": rank, "lora_alpha": alpha, "target_modules": ["q_proj", "v_proj", "down_proj"]},
          open(f"{tmp}/adapter/adapter_config.json", "w"))
os.makedirs(f"{tmp}/merged")
for name in os.listdir(f"{tmp}/hf"):
    if name != "model.safetensors": shutil.copy(f"{tmp}/hf/{name}", f"{tmp}/merged/{name}")
write(f"{tmp}/merged/model.safetensors", weights)
EOF

TOKENS=2,17,300,41,9,77,5
"$GEMMA4" forward --model "$TMP/hf" --lora "$TMP/adapter" --tokens $TOKENS --dump-logits "$TMP/lora.npy" 2>"$TMP/err" &&
  "$GEMMA4" forward --model "$TMP/merged" --tokens $TOKENS --dump-logits "$TMP/merged.npy" 2>>"$TMP/err" &&
  "$GEMMA4" forward --model "$TMP/hf" --tokens $TOKENS --dump-logits "$TMP/base.npy" 2>>"$TMP/err" ||
  fail "forward ($(cat "$TMP/err"))"
if /usr/bin/python3 - "$TMP" <<'EOF'
import sys, numpy as np
t = sys.argv[1]
lora, merged, base = (np.load(f"{t}/{n}.npy") for n in ("lora", "merged", "base"))
diff, change = np.abs(lora - merged).max(), np.abs(lora - base).max()
print(f"forward --lora vs numpy-merged model: max |diff| {diff:.3g}; vs base model: {change:.3g}")
sys.exit(0 if diff <= 1e-4 and change > 1e-2 else 1)
EOF
then pass "forward --lora equals the numpy-merged model"; else fail "forward --lora logits"; fi

greedy() { "$GEMMA4" generate --model "$@" --tokens $TOKENS --max-tokens 10 --greedy --print-ids 2>"$TMP/err" | head -1; }
with_lora=$(greedy "$TMP/hf" --lora "$TMP/adapter")
merged=$(greedy "$TMP/merged")
echo "greedy ids with --lora: $with_lora; merged model: $merged"
[[ -n $with_lora && $with_lora == "$merged" ]] && pass "generate --lora gives the merged model's tokens" ||
  fail "generate --lora ($(cat "$TMP/err"))"

# A bad adapter is a clear error, not a crash.
mkdir -p "$TMP/empty"
"$GEMMA4" forward --model "$TMP/hf" --lora "$TMP/empty" --tokens $TOKENS 2>"$TMP/err" >/dev/null
rc=$?
[[ $rc -ne 0 && $rc -lt 128 ]] && grep -q "adapter_config.json" "$TMP/err" && pass "missing adapter_config.json is a clear error" ||
  fail "missing adapter_config.json (rc $rc: $(cat "$TMP/err"))"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
