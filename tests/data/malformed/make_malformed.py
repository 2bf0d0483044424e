"""Writes the malformed inputs of tests/data/malformed/ (files/) and their manifest (manifest.json): each entry
names the file, the gemma4 command that reads it ({file} is the input, {root} the repository), the exit
status, and a stable substring of the error the command must print. tests/faults/test_malformed_files.sh runs
them. The inputs are made by hand from the formats' descriptions (GGUF: ggml's docs/gguf.md; safetensors:
huggingface/safetensors README; WAV: RIFF; HDF5 files with h5py); the expected messages were read and checked
one by one against what each input is wrong about.
Run: /usr/bin/python3 tests/data/malformed/make_malformed.py"""
import json
import os
import shutil
import struct
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "data", "kerashub_fixtures", "text_all")
entries = []
os.makedirs(FILES, exist_ok=True)

FORWARD = ["forward", "--model", "{file}", "--tokens", "2,3"]
TOKENIZE = ["tokenize", "--tokenizer", "{file}", "--text", "hello"]
TEMPLATE = ["template", "--model", "builtin:tiny", "--messages", "{root}/tests/data/malformed/messages.json",
            "--chat-template", "{file}"]
IMAGE = ["image", "--image", "{file}"]
LORA = ["forward", "--model", "builtin:tiny", "--tokens", "2,3", "--lora", "{file}"]


def add(name, data, command, error, exit_code=1):
    path = os.path.join(FILES, name)
    if isinstance(data, dict):  # a folder: file name -> bytes
        os.makedirs(path, exist_ok=True)
        for file_name, content in data.items():
            with open(os.path.join(path, file_name), "wb") as f:
                f.write(content)
    else:
        with open(path, "wb") as f:
            f.write(data)
    entries.append({"file": name, "command": command, "exit": exit_code, "error": error})


# ---- GGUF -------------------------------------------------------------------------------------------------
def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv_str(key, s):
    return gstr(key) + struct.pack("<I", 8) + gstr(s)


def kv_u32(key, v):
    return gstr(key) + struct.pack("<II", 4, v)


def gguf(kvs, tensors=(), data=b"", version=3, n_tensors=None, n_kv=None, alignment=32):
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv)
    body = b"".join(kvs)
    for name, dims, ttype, offset in tensors:
        body += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        body += struct.pack("<IQ", ttype, offset)
    out = head + body
    out += b"\0" * ((-len(out)) % alignment)
    return out + data


ARCH = kv_str("general.architecture", "gemma4")
add("gguf_truncated_header.gguf", b"GGUF\x03\x00", FORWARD, "truncated")
add("gguf_bad_magic.gguf", b"GGUX" + b"\0" * 60, FORWARD, "is a file but not a GGUF file")
add("gguf_version1.gguf", gguf([ARCH], version=1), FORWARD, "version 1")
add("gguf_huge_tensor_count.gguf", gguf([ARCH], n_tensors=1 << 60), FORWARD, "and 1152921504606846976 tensors, more than its 96 bytes can hold")
add("gguf_huge_kv_count.gguf", gguf([ARCH], n_kv=1 << 60), FORWARD, "claims 1152921504606846976 metadata entries")
add("gguf_huge_string.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"abc", FORWARD,
    "needs 4611686018427387904 bytes but the file has 3 left")
add("gguf_huge_array.gguf", gguf([gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1 << 61)]), FORWARD,
    "'tokenizer.ggml.tokens' claims 2305843009213693952 elements but only 27 bytes are left")
add("gguf_bad_value_type.gguf", gguf([gstr("general.architecture") + struct.pack("<I", 99) + b"\0" * 8]), FORWARD,
    "metadata 'general.architecture' has invalid value type 99")
add("gguf_offset_past_end.gguf", gguf([ARCH], [("token_embd.weight", [4, 4], 0, 1 << 20)], b"\0" * 64), FORWARD,
    "but the data section holds only 64 bytes")
add("gguf_misaligned_tensor.gguf", gguf([ARCH], [("a.weight", [8], 0, 0), ("b.weight", [8], 0, 16)], b"\0" * 64),
    FORWARD, "starts at data offset 16, not a multiple of the alignment 32")
add("gguf_overlapping_tensors.gguf", gguf([ARCH], [("a.weight", [16], 0, 0), ("b.weight", [16], 0, 32)], b"\0" * 96),
    FORWARD, "overlap")
add("gguf_bad_tensor_type.gguf", gguf([ARCH], [("a.weight", [8], 250, 0)], b"\0" * 64), FORWARD,
    "has ggml type 250 (unknown)")
add("gguf_zero_alignment.gguf", gguf([ARCH, kv_u32("general.alignment", 0)]), FORWARD, "alignment")
add("gguf_huge_dims.gguf", gguf([ARCH], [("a.weight", [1 << 40, 1 << 40], 0, 0)], b"\0" * 64), FORWARD,
    "has an absurd dimension 1099511627776")
# A NaN scale in a Q8_0 block (blk.0.attn_output.weight's first block, at byte 56256 of the q8_0 seed as gguf-py's
# GGUFReader reports it): loading does not scan the weights (docs/reliability.md), so this runs and must not crash.
q8 = bytearray(open(os.path.join(ROOT, "fuzz", "corpus", "gguf", "text_all_tokenizer_q8_0.gguf"), "rb").read())
q8[56256:56258] = b"\x00\x7e"  # float16 NaN
add("gguf_nan_scale_q8_0.gguf", bytes(q8), ["generate", "--model", "{file}", "--tokens", "2,5", "--max-tokens", "3",
                                            "--greedy", "--print-ids"], "", exit_code=0)
add("gguf_no_architecture.gguf", gguf([kv_str("general.name", "x")]), FORWARD, "general.architecture")

# ---- safetensors (a model folder: the text_all fixture's config.json beside a broken model.safetensors) ------
config = open(os.path.join(FIXTURE, "config.json"), "rb").read()


def st(header, data=b""):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text)) + text + data


def st_folder(weights):
    return {"config.json": config, "model.safetensors": weights}


add("st_truncated", st_folder(struct.pack("<Q", 1000) + b"{}"), FORWARD, "runs past the end of the file")
add("st_header_too_big", st_folder(struct.pack("<Q", 1 << 40) + b"{}"), FORWARD, "above the limit of 100000000 bytes")
add("st_not_json", st_folder(st(b"{not json")), FORWARD, "not valid JSON")
add("st_overlap", st_folder(st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24)),
    FORWARD, "overlap in the file")
add("st_offsets_outside", st_folder(st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)),
    FORWARD, "fall outside the 8 data bytes")
add("st_shape_overflow", st_folder(st({"a": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 16]}},
                                      b"\0" * 16)), FORWARD, "has more elements than the file's 16 data bytes")
add("st_bad_dtype", st_folder(st({"a": {"dtype": "Q9", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16)),
    FORWARD, "unsupported dtype 'Q9'")
add("st_dtype_not_string", st_folder(st({"a": {"dtype": 7, "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16)),
    FORWARD, "dtype must be a string")
add("st_name_too_long", st_folder(st({"x" * 5000: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)),
    FORWARD, "longer than the limit of 4096")
add("st_size_mismatch", st_folder(st({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\0" * 16)),
    FORWARD, "holds 16 bytes but shape [3] of F32 needs 12")
add("st_too_many_dims", st_folder(st({"a": {"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}}, b"\0" * 4)),
    FORWARD, "above the limit of 8")

# ---- config.json -------------------------------------------------------------------------------------------
weights = open(os.path.join(FIXTURE, "model.safetensors"), "rb").read()
fixture_config = json.loads(config)


def cfg_folder(text):
    return {"config.json": text, "model.safetensors": st({})}  # an empty but valid weights file


def changed(drop=(), **changes):  # the fixture's config is a flat gemma4_text config
    c = json.loads(config)
    c.update(changes)
    for key in drop:
        c.pop(key)
    return json.dumps(c).encode()


add("config_not_json", cfg_folder(b"{\"model_type\": "), FORWARD, "config.json: not valid JSON")
add("config_huge_layers", cfg_folder(changed(drop=["layer_types"], num_hidden_layers=10 ** 12)), FORWARD,
    "num_hidden_layers is 1000000000000, above the limit of 1024")
add("config_wrong_type", cfg_folder(changed(hidden_size="wide")), FORWARD, "which is not of the expected type")
add("config_bad_utf8", cfg_folder(config.replace(b'"gemma4_text"', b'"gemma4_text\xff"', 1)), FORWARD,
    "config.json: not valid JSON ([json.exception.parse_error.101] parse error at line 2, column 29: syntax error while "
    "parsing value - invalid string: ill-formed UTF-8 byte")
add("config_huge_width", cfg_folder(changed(hidden_size=1 << 40)), FORWARD, "hidden_dim is 1099511627776, above the limit")
add("config_negative_heads", cfg_folder(changed(num_attention_heads=-4)), FORWARD,
    "config.json: invalid Gemma4Backbone config: num_query_heads must be positive (got -4)")
add("config_deep_nesting", cfg_folder(b"[" * 200000), FORWARD, "config.json: not valid JSON")

# ---- tokenizers -----------------------------------------------------------------------------------------------
add("tokenizer_bad_utf8.json", b'{"model": {"type": "BPE", "vocab": {"\xc3\x28": 0}, "merges": []}}', TOKENIZE,
    "invalid string: ill-formed UTF-8 byte")
add("tokenizer_truncated.json", b'{"model": {"type": "BPE", "vocab": {"a": 0', TOKENIZE, "malformed JSON")
add("tokenizer_wrong_type.json", b'{"model": {"type": []}}', TOKENIZE, "\"model\" has a field of the wrong JSON type")
add("tokenizer_added_id_out_of_range.json",
    b'{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 99999999999, "content": "x"}]}',
    TOKENIZE, "added token id 99999999999 is out of range")
spm = open(os.path.join(ROOT, "tests", "data", "gemma4_test_vocab.spm"), "rb").read()
add("spm_truncated.model", spm[: len(spm) // 2], TOKENIZE, "length-delimited field runs past the end")
add("spm_empty.model", b"", TOKENIZE, "the file is empty")
add("spm_garbage.model", bytes(range(256)) * 4, TOKENIZE, "not a valid SentencePiece model")

# ---- chat templates --------------------------------------------------------------------------------------------
add("jinja_unclosed.jinja", b"{% for m in messages %}{{ m.content }}", TEMPLATE, "Unexpected end of template")
add("jinja_recursive_macro.jinja", b"{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}", TEMPLATE,
    "recursion limit exceeded: more than 200 nested macro calls")
add("jinja_huge_output.jinja", b"{% for i in range(1000000000) %}{{ 'xxxxxxxxxxxxxxxx' }}{% endfor %}", TEMPLATE,
    "Range too big")
add("jinja_deep_nesting.jinja", b"{{ " + b"(" * 100000 + b"1" + b")" * 100000 + b" }}", TEMPLATE,
    "template nesting too deep (more than 200 levels)")
add("jinja_unknown_filter.jinja", b"{{ messages | no_such_filter }}", TEMPLATE, "no_such_filter")
add("jinja_bad_utf8.jinja", b"{{ '\xff\xfe' }}{{ messages[0].content }}", TEMPLATE, "", exit_code=0)

# ---- images ----------------------------------------------------------------------------------------------------
corpus = os.path.join(ROOT, "fuzz", "corpus")
png = open(os.path.join(corpus, "image", "rgb.png"), "rb").read()
add("image_truncated.png", png[: len(png) // 2], IMAGE, "not a readable image")
huge = bytearray(png)
huge[16:24] = struct.pack(">II", 100000, 100000)
add("image_huge_dims.png", bytes(huge), IMAGE, "not a readable image (too large")
add("image_garbage.png", b"\x89PNG\r\n\x1a\n" + bytes(200), IMAGE, "not a readable image (first not IHDR")
add("image_empty.png", b"", IMAGE, "empty image data")
add("image_jpeg_dht_over_256.jpg", open(os.path.join(corpus, "image", "regression_jpeg_dht_over_256.jpg"), "rb").read(),
    IMAGE, "a Huffman table (DHT segment at byte 219) lists 262 codes")
add("image_pgm_16bit.pgm", open(os.path.join(corpus, "image", "regression_pgm_16bit.pgm"), "rb").read(), IMAGE,
    "16-bit PGM (maxval 700) is not supported")

# ---- WAV (through the audio fixture: generate with one clip) ------------------------------------------------
AUDIO = ["generate", "--model", "{root}/tests/data/kerashub_fixtures/audio", "--audio", "{file}", "--tokens", "2",
         "--max-tokens", "1"]


def riff(chunks):
    body = b"WAVE" + b"".join(tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
                              for tag, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


fmt16 = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
add("wav_no_riff.wav", b"RIFX" + bytes(40), AUDIO, "not a WAV file (no RIFF/WAVE header)")
add("wav_truncated_fmt.wav", riff([(b"fmt ", fmt16[:10])]), AUDIO, "truncated WAV fmt chunk")
add("wav_no_data.wav", riff([(b"fmt ", fmt16)]), AUDIO, "WAV file without a data chunk")
add("wav_unsupported_format.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 2, 1, 16000, 32000, 2, 4)), (b"data", bytes(8))]),
    AUDIO, "unsupported WAV sample format 2 with 4 bits")
add("wav_zero_channels.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 0, 16000, 0, 0, 16)), (b"data", bytes(8))]),
    AUDIO, "WAV file without a valid fmt chunk")
add("wav_short_extensible.wav", open(os.path.join(corpus, "wav", "regression_short_extensible_fmt.wav"), "rb").read(),
    AUDIO, "truncated WAVE_FORMAT_EXTENSIBLE fmt chunk")

# ---- KerasHub weights (a preset folder: the fixture's config.json and metadata.json beside a broken .h5) -----
preset = os.path.join(FIXTURE, "keras_preset")
preset_files = {n: open(os.path.join(preset, n), "rb").read() for n in ("config.json", "metadata.json")}
h5 = open(os.path.join(preset, "model.weights.h5"), "rb").read()


def h5_bytes(build):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.h5")
        with h5py.File(path, "w") as f:
            build(f)
        return open(path, "rb").read()


def keras_folder(weights_bytes):
    return dict(preset_files, **{"model.weights.h5": weights_bytes})


add("keras_truncated", keras_folder(h5[: len(h5) // 2]), FORWARD, "cannot open the HDF5 file (truncated or damaged?)")
add("keras_not_hdf5", keras_folder(b"not an hdf5 file" * 10), FORWARD, "not an HDF5 file")
add("keras_link_cycle", keras_folder(open(os.path.join(corpus, "keras_h5", "regression_link_cycle.h5"), "rb").read()),
    FORWARD, "groups nest more than 32 levels deep")
add("keras_hdf5_crash", keras_folder(open(os.path.join(corpus, "keras_h5", "regression_hdf5_null_heap_copy.h5"), "rb").read()),
    FORWARD, "libhdf5 crashed (Segmentation fault) reading this file's structure")
add("keras_unallocated_huge", keras_folder(h5_bytes(
    lambda f: f.create_dataset("layers/x/vars/0", shape=(1 << 16, 1 << 16), dtype="f4", chunks=(16, 16)))),
    FORWARD, "but the file stores 0 bytes for it")
add("keras_integers", keras_folder(h5_bytes(lambda f: f.create_dataset("layers/x/vars/0", data=np.ones(3, np.int32)))),
    FORWARD, "expected little-endian float32, float16 or bfloat16")

# ---- LoRA adapters against builtin:tiny ---------------------------------------------------------------------
def lora_seed(name):
    return open(os.path.join(corpus, "lora", name), "rb").read()


def peft_folder(seed):
    length = struct.unpack("<I", seed[1:5])[0]
    return {"adapter_config.json": seed[5:5 + length], "adapter_model.safetensors": seed[5 + length:]}


add("lora_peft_wrong_types", peft_folder(lora_seed("regression_wrong_types.bin")), LORA, "\"peft_type\" is not a string")
add("lora_peft_huge_rank", peft_folder(lora_seed("peft_nan_rank.bin")), LORA, "expected an integer from 1 to 65536")
add("lora_keras_bf16_marked_f32.lora.h5", lora_seed("regression_bf16_marked_f32.bin")[1:], LORA,
    "is marked dtype='bfloat16' but holds 4-byte values")
add("lora_keras_huge_index.lora.h5", lora_seed("regression_huge_group_index.bin")[1:], LORA, "has an index above 999999999")

with open(os.path.join(HERE, "messages.json"), "w") as f:
    json.dump([{"role": "user", "content": "hi"}], f)
with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump({"about": "malformed inputs; see make_malformed.py and tests/faults/test_malformed_files.sh",
               "entries": entries}, f, indent=1)
print(len(entries), "malformed inputs written to", FILES)
