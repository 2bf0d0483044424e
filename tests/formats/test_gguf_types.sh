#!/bin/bash
# Every GGUF tensor type gemma4.cpp reads, decoded bit for bit as gguf-py's dequantizers (llama.cpp's
# gguf-py/gguf/quants.py, from the llama.cpp source bundle in node-llama-cpp) decode it.
#
#   tests/formats/test_gguf_types.sh BUILD_DIR
#
# gguf-py writes one GGUF file holding a tensor of random blocks per type (fixed seed; random bytes with the
# scale fields replaced by random finite f16 values, zeros and subnormals among them); gemma4.cpp's reader and
# decoders (build/bin/gemma4_gguf_decode_tensors) decode it; the values must equal gguf-py's as uint32 bit
# patterns. Also: our block sizes equal gguf-py's GGML_QUANT_SIZES for every type id we accept, and a tensor
# of a type we do not read (Q8_1) is refused with an error naming the tensor and the type.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
TOOL=$BUILD/bin/gemma4_gguf_decode_tensors
[ -x "$TOOL" ] || { echo "missing $TOOL (build the gemma4_gguf_decode_tensors target)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
git -c advice.detachedHead=false clone -q "$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$WORK/llama"
mkdir -p "$WORK/ours"
"$TOOL" --sizes > "$WORK/sizes.txt"

/usr/bin/python3 - "$WORK" "$TOOL" <<'PY'
import subprocess, sys
import numpy as np
work, tool = sys.argv[1], sys.argv[2]
sys.path.insert(0, f"{work}/llama/gguf-py")
import gguf
from gguf import GGMLQuantizationType as T, GGML_QUANT_SIZES
from gguf.quants import dequantize

passed = failed = 0
def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what)
    passed += ok
    failed += not ok

# Our type table against gguf-py's.
for line in open(f"{work}/sizes.txt"):
    type_id, name, elems, nbytes = line.split()
    theirs = T(int(type_id))
    check(theirs.name == name and GGML_QUANT_SIZES[theirs] == (int(elems), int(nbytes)),
          f"type {type_id}: ours {name} ({elems}, {nbytes}), gguf-py {theirs.name} {GGML_QUANT_SIZES[theirs]}")

rng = np.random.default_rng(20240611)

def finite_f16(count):
    """Random finite f16 bit patterns: mostly moderate magnitudes of both signs, some zeros and subnormals."""
    bits = rng.integers(0, 1 << 16, size=count, dtype=np.uint32).astype(np.uint16)
    exponent = (bits >> 10) & 0x1F
    bits = np.where(exponent == 31, bits & ~np.uint16(0x4000), bits)   # inf/NaN -> finite (exponent 15)
    kind = rng.random(count)
    bits = np.where(kind < 0.03, np.uint16(0), bits)
    bits = np.where((kind >= 0.03) & (kind < 0.06), bits & np.uint16(0x83FF), bits)  # subnormals
    moderate = np.float16(rng.normal(0, 0.02, count)).view(np.uint16)
    return np.where(kind > 0.5, moderate, bits).astype(np.uint16)

# (byte offset, count) of the f16 scale fields of each block type.
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.IQ4_NL: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0], T.IQ3_S: [0], T.IQ1_S: [0], T.IQ4_XS: [0],
    T.TQ1_0: [52], T.TQ2_0: [64], T.MXFP4: [], T.NVFP4: [],
}

def random_blocks(qtype, n_blocks):
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint16).astype(np.uint8)
    for offset in F16_FIELDS.get(qtype, []):
        blocks[:, offset:offset + 2] = finite_f16(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.IQ1_M:  # the f16 d is spread over the top nibbles of the 4 u16 scales at bytes 48..55
        d = finite_f16(n_blocks)
        scales = blocks[:, 48:56].copy().view(np.uint16).reshape(n_blocks, 4) & np.uint16(0x0FFF)
        for i in range(4):
            scales[:, i] |= ((d >> np.uint16(4 * i)) & np.uint16(0xF)) << np.uint16(12)
        blocks[:, 48:56] = scales.view(np.uint8).reshape(n_blocks, 8)
    return blocks

TYPES = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K,
         T.IQ1_S, T.IQ1_M, T.IQ2_XXS, T.IQ2_XS, T.IQ2_S, T.IQ3_XXS, T.IQ3_S, T.IQ4_NL, T.IQ4_XS, T.TQ1_0, T.TQ2_0,
         T.MXFP4, T.NVFP4]
writer = gguf.GGUFWriter(f"{work}/types.gguf", "test")
expected = {}
for qtype in TYPES:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    rows = 4
    cols = 2048 if block_size == 1 else block_size * (128 if block_size >= 256 else 512)
    n_blocks = rows * cols // block_size
    if qtype == T.F32:
        raw = rng.normal(0, 1, rows * cols).astype(np.float32).view(np.uint8)
    elif qtype in (T.F16, T.BF16):
        raw = finite_f16(rows * cols).view(np.uint8) if qtype == T.F16 else \
            (rng.normal(0, 1, rows * cols).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    else:
        raw = random_blocks(qtype, n_blocks).reshape(-1)
    raw = raw.reshape(rows, -1)
    name = f"t_{qtype.name.lower()}"
    writer.add_tensor(name, raw, raw_shape=(rows, raw.shape[1]), raw_dtype=qtype)
    with np.errstate(over="ignore"):
        values = dequantize(raw, qtype)
    expected[name] = (qtype, values.astype(np.float32).reshape(-1))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

result = subprocess.run([tool, f"{work}/types.gguf", f"{work}/ours"], capture_output=True, text=True)
check(result.returncode == 0, f"our reader opens the file ({result.stderr.strip() or 'no error'})")
for name, (qtype, theirs) in expected.items():
    try:
        ours = np.fromfile(f"{work}/ours/{name}.f32", dtype=np.float32)
    except FileNotFoundError:
        check(False, f"{qtype.name}: no output")
        continue
    same = ours.shape == theirs.shape and np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
    detail = ""
    if not same and ours.shape == theirs.shape:
        bad = np.nonzero(ours.view(np.uint32) != theirs.view(np.uint32))[0]
        detail = f": {len(bad)} differ, first at {bad[0]} (ours {ours[bad[0]]!r}, gguf-py {theirs[bad[0]]!r})"
    elif not same:
        detail = f": {ours.shape} values, gguf-py {theirs.shape}"
    nonfinite = int(np.count_nonzero(~np.isfinite(theirs)))
    check(same, f"{qtype.name}: {theirs.size} values bit-identical to gguf-py ({nonfinite} non-finite){detail}")

# A type gemma4.cpp does not read: the error names the tensor and the type.
writer = gguf.GGUFWriter(f"{work}/q8_1.gguf", "test")
writer.add_tensor("blk.0.attn_q.weight", np.zeros((2, 36 * 2), dtype=np.uint8), raw_shape=(2, 72), raw_dtype=T.Q8_1)
writer.write_header_to_file(); writer.write_kv_data_to_file(); writer.write_tensors_to_file(); writer.close()
result = subprocess.run([tool, f"{work}/q8_1.gguf", f"{work}/ours"], capture_output=True, text=True)
message = result.stderr.strip()
check(result.returncode == 1 and "blk.0.attn_q.weight" in message and "Q8_1" in message,
      f"a Q8_1 tensor is refused naming tensor and type: {message}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
