"""Seeds of the fuzz targets keras_h5, lora, config_json, sentencepiece, base64 (fuzz/corpus/<target>/):
small valid files made with h5py / by hand from the formats' descriptions, and malformed variants. The
built-in tiny model's shapes (src/loading/builtin_model.cc: hidden 64, 4 query heads, 2 KV heads, head_dim 16,
global_head_dim 32, 6 layers with layer 2 and 5 global, 2 KV-shared) make the LoRA seeds valid.
Run: /usr/bin/python3 fuzz/make_seeds_more.py"""
import json
import os
import struct
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def h5_bytes(build):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.h5")
        with h5py.File(path, "w") as f:
            build(f)
        with open(path, "rb") as f:
            return f.read()


def safetensors(tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def peft(config, tensors):
    text = json.dumps(config).encode()
    return bytes([0]) + struct.pack("<I", len(text)) + text + safetensors(tensors)


# ---- keras_h5 ---------------------------------------------------------------------------------------------
def keras_valid(f):
    f.create_dataset("layers/token_embedding/vars/0", data=np.arange(12, dtype=np.float32).reshape(3, 4))
    f.create_dataset("layers/norm/vars/0", data=np.ones(4, dtype=np.float16))
    bf = f.create_dataset("layers/dense/vars/0", data=np.arange(6, dtype=np.uint16).reshape(2, 3))
    bf.attrs["dtype"] = "bfloat16"
    f.create_dataset("layers/scalar/vars/0", data=np.float32(2.5))


put("keras_h5", "valid.weights.h5", h5_bytes(keras_valid))
# A dataset whose shape claims 2^40 floats with no storage allocated (chunked, never written).
put("keras_h5", "huge_unallocated.weights.h5",
    h5_bytes(lambda f: f.create_dataset("layers/x/vars/0", shape=(1 << 20, 1 << 20), dtype="f4", chunks=(16, 16))))
put("keras_h5", "compressed.weights.h5",
    h5_bytes(lambda f: f.create_dataset("layers/x/vars/0", data=np.zeros((64, 64), np.float32), compression="gzip")))
put("keras_h5", "big_endian.weights.h5", h5_bytes(lambda f: f.create_dataset("layers/x/vars/0", data=np.ones(3, ">f4"))))
put("keras_h5", "integers.weights.h5", h5_bytes(lambda f: f.create_dataset("layers/x/vars/0", data=np.ones(3, np.int32))))


def bf16_wrong_size(f):
    d = f.create_dataset("layers/x/vars/0", data=np.ones(3, np.float32))
    d.attrs["dtype"] = "bfloat16"


put("keras_h5", "bf16_marked_f32.weights.h5", h5_bytes(bf16_wrong_size))
valid = h5_bytes(keras_valid)
put("keras_h5", "truncated_half.weights.h5", valid[: len(valid) // 2])
put("keras_h5", "truncated_superblock.weights.h5", valid[:40])

# ---- lora -------------------------------------------------------------------------------------------------
rng = np.random.default_rng(0)
r = 4
put("lora", "peft_valid.bin", peft({"r": r, "lora_alpha": 8, "peft_type": "LORA"}, {
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((r, 64)),
    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((64, r)),
}))
put("lora", "peft_pattern.bin", peft({"r": r, "lora_alpha": 8, "rank_pattern": {"q_proj": 2}, "alpha_pattern": {"q_proj": 4}}, {
    "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight": rng.standard_normal((2, 64)),
    "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight": rng.standard_normal((64, 2)),
}))
put("lora", "regression_wrong_types.bin", peft({"r": "four", "peft_type": 3, "use_dora": "no", "rank_pattern": []}, {}))
put("lora", "peft_nan_rank.bin", peft({"r": 1e300, "lora_alpha": -1}, {
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((1, 64)),
    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((64, 1)),
}))
put("lora", "peft_zero_rank.bin", peft({"r": 0}, {
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.zeros((0, 64)),
    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": np.zeros((64, 0)),
}))
put("lora", "peft_regex_pattern.bin", peft({"r": 4, "rank_pattern": {"(a*)*b": 2, "[": 3}}, {
    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((4, 64)),
    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((64, 4)),
}))


def keras_lora(rank, layers, a_dtype=np.float32, rank_value=None, extra=None):
    def build(f):
        f.create_group("lora").create_group("vars")["rank"] = np.int64(rank if rank_value is None else rank_value)
        for index, (heads, head_dim) in layers.items():
            g = f["lora"].create_group(str(index)).create_group("vars")
            g["lora_kernel_a"] = rng.standard_normal((heads, 64, rank)).astype(a_dtype)
            g["lora_kernel_b"] = rng.standard_normal((rank, head_dim)).astype(np.float32)
        if extra:
            extra(f)
    return bytes([1]) + h5_bytes(build)


# KerasHub order per block: value then query; layers 4 and 5 are KV-shared (query only); layer 2 and 5 global.
slots, index = {}, 3
for layer in range(6):
    head_dim = 32 if layer in (2, 5) else 16
    if layer < 4:
        slots[index] = (2, head_dim); index += 1
    slots[index] = (4, head_dim); index += 1
put("lora", "keras_valid.bin", keras_lora(2, slots))
put("lora", "keras_rank_mismatch.bin", keras_lora(2, slots, rank_value=3))
put("lora", "regression_huge_group_index.bin", keras_lora(2, slots,
                                                extra=lambda f: f["lora"].create_group("123456789012345678901234567890")))
put("lora", "keras_f16.bin", keras_lora(2, slots, a_dtype=np.float16))


def keras_bf16_mark(f):
    f.create_group("lora").create_group("vars")["rank"] = np.int64(2)
    g = f["lora"].create_group("0").create_group("vars")
    g["lora_kernel_a"] = np.ones((4, 64, 2), np.float32)
    g["lora_kernel_a"].attrs["dtype"] = "bfloat16"
    g["lora_kernel_b"] = np.ones((2, 16), np.float32)


put("lora", "regression_bf16_marked_f32.bin", bytes([1]) + h5_bytes(keras_bf16_mark))

# ---- config_json ------------------------------------------------------------------------------------------
put("config_json", "hf_per_layer.json", json.dumps({
    "model_type": "gemma4_text", "num_hidden_layers": 2, "layer_types": ["sliding_attention", "full_attention"],
    "attention_k_eq_v": True, "per_layer_config": {"1": {"head_dim": 64, "num_key_value_heads": 1}, "0": "x"},
    "rope_parameters": {"sliding_attention": {"rope_theta": 1e4}, "full_attention": {"partial_rotary_factor": 0.25}},
    "vision_config": {"hidden_size": 8}, "audio_config": {"hidden_size": 8}}).encode())
put("config_json", "hf_wrong_types.json", json.dumps({
    "model_type": "gemma4", "text_config": {"num_hidden_layers": "6", "eos_token_id": ["x"], "layer_types": 3,
                                            "rope_parameters": {"full_attention": {"factor": "big"}}},
    "torch_dtype": 16}).encode())
put("config_json", "regression_huge_layers.json", json.dumps({"model_type": "gemma4_text", "num_hidden_layers": 10**12}).encode())
put("config_json", "regression_dtype_policy_name.json", json.dumps({"class_name": "Gemma4Backbone", "config": {
    "vocabulary_size": -1, "num_layers": 2, "num_query_heads": 0, "num_key_value_heads": 1, "hidden_dim": 8,
    "intermediate_dim": 8, "head_dim": 4, "dtype": {"config": {"name": 5}}}}).encode())
put("config_json", "keras_huge.json", json.dumps({"class_name": "Gemma4Backbone", "config": {
    "vocabulary_size": 2**62, "num_layers": 2**40, "num_query_heads": 2**31, "num_key_value_heads": 1,
    "hidden_dim": 2**40, "intermediate_dim": 8, "head_dim": 4}}).encode())
put("config_json", "deep.json", b"[" * 100000)

# ---- sentencepiece ----------------------------------------------------------------------------------------
spm = open(os.path.join(HERE, "..", "tests", "data", "gemma4_test_vocab.spm"), "rb").read()
put("sentencepiece", "truncated.spm", spm[: len(spm) // 2])
put("sentencepiece", "huge_length.spm", b"\x0a\xff\xff\xff\xff\x0f" + spm[6:])
put("sentencepiece", "empty_piece.spm", b"\x0a\x02\x0a\x00")
put("sentencepiece", "deep_varint.spm", b"\x0a" + b"\xff" * 20)

# ---- base64 -----------------------------------------------------------------------------------------------
put("base64", "plain.txt", b"aGVsbG8gd29ybGQ=")
put("base64", "urlsafe.txt", b"-_-_AAAA\n  ==")
put("base64", "bad.txt", b"abc$def")
put("base64", "padding_middle.txt", b"ab==cd")
put("base64", "one_char.txt", b"a")
print("seeds written under", ROOT)
