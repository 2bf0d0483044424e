#!/usr/bin/python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/ (valid small files and malformed variants).

The files are committed; rerun this only to regenerate them (/usr/bin/python3 fuzz/make_seeds.py). Formats are
written from their specifications (GGUF: ggml's docs/gguf.md; safetensors: the safetensors README; RIFF/WAVE),
not with this project's writers, so the seeds do not share the reader's assumptions.
"""
import io
import json
import os
import struct
import wave

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- GGUF --------------------------------------------------------------------------------------------------
def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def kv_str(key, s):
    return kv(key, 8, gstr(s))


def kv_u32(key, v):
    return kv(key, 4, struct.pack("<I", v))


def kv_arr(key, etype, items):
    body = b""
    for it in items:
        body += gstr(it) if etype == 8 else struct.pack({4: "<I", 5: "<i", 6: "<f", 7: "<?"}[etype], it)
    return kv(key, 9, struct.pack("<IQ", etype, len(items)) + body)


def gguf(kvs, tensors, alignment=32, version=3):
    """tensors: (name, ne list, ggml type id, data bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    offset, blobs = 0, []
    for name, ne, tid, blob in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", tid, offset)
        pad = (-len(blob)) % alignment
        blobs.append(blob + b"\0" * pad)
        offset += len(blob) + pad
    out += b"\0" * ((-len(out)) % alignment)
    return out + b"".join(blobs)


def f32(values):
    return b"".join(struct.pack("<f", v) for v in values)


def q8_0_block(scale_f16, qs):
    return struct.pack("<e", scale_f16) + bytes(q & 0xFF for q in qs)


tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "\u2581", "a", "b", "ab", "\u2581ab", "<0x41>"]
tok_kvs = [kv_str("tokenizer.ggml.model", "gemma4"), kv_arr("tokenizer.ggml.tokens", 8, tokens),
           kv_arr("tokenizer.ggml.token_type", 5, [3, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 6]),
           kv_arr("tokenizer.ggml.merges", 8, ["a b", "\u2581 ab"]), kv_u32("tokenizer.ggml.bos_token_id", 2),
           kv("tokenizer.ggml.add_bos_token", 7, b"\x01"), kv_str("tokenizer.chat_template", "{{ bos_token }}")]
small_tensors = [("token_embd.weight", [4, 3], 0, f32(range(12))),
                 ("blk.0.attn_q.weight", [32, 1], 8, q8_0_block(0.5, range(-16, 16))),
                 ("half.weight", [2, 2], 1, struct.pack("<4e", 1.0, -2.0, 0.5, 65504.0))]
base = gguf([kv_str("general.architecture", "gemma4"), kv_u32("general.alignment", 32)] + tok_kvs, small_tensors)
put("gguf", "small_tokenizer.gguf", base)
put("gguf", "truncated_header.gguf", base[:20])
put("gguf", "truncated_data.gguf", base[:-40])
put("gguf", "version1.gguf", gguf([], [], version=1))
put("gguf", "huge_tensor_count.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 0))
put("gguf", "huge_kv_count.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 62))
put("gguf", "huge_string_length.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"key")
put("gguf", "huge_array_length.gguf", gguf([kv("a", 9, struct.pack("<IQ", 4, 1 << 61))], []))
put("gguf", "nested_arrays.gguf", gguf([kv("a", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 4, 0))], []))
put("gguf", "bad_alignment.gguf", gguf([kv_u32("general.alignment", 3)], small_tensors[:1]))
put("gguf", "zero_alignment.gguf", gguf([kv_u32("general.alignment", 0)], small_tensors[:1]))
put("gguf", "bad_value_type.gguf", gguf([kv("x", 99, b"\0" * 8)], []))
put("gguf", "bad_tensor_type.gguf", gguf([], [("t", [4], 200, f32(range(4)))]))
put("gguf", "many_dims.gguf", gguf([], [("t", [1] * 9, 0, f32([1]))]))
put("gguf", "huge_dims.gguf", gguf([], [("t", [1 << 40, 1 << 40], 0, f32([1]))]))
put("gguf", "negative_dim.gguf", gguf([], [("t", [(1 << 64) - 1], 0, f32([1]))]))
put("gguf", "zero_dim.gguf", gguf([], [("t", [0, 4], 0, b"")]))
put("gguf", "offset_past_end.gguf", gguf([], [("t", [4], 0, f32(range(4)))])[:-16])
put("gguf", "q8_partial_block.gguf", gguf([], [("t", [16], 8, q8_0_block(1.0, range(16)))]))
put("gguf", "duplicate_tensor.gguf", gguf([], [("t", [4], 0, f32(range(4))), ("t", [4], 0, f32(range(4)))]))
put("gguf", "duplicate_key.gguf", gguf([kv_u32("k", 1), kv_u32("k", 2)], []))
put("gguf", "tokens_not_strings.gguf", gguf([kv_str("general.architecture", "gemma4"),
                                             kv_str("tokenizer.ggml.model", "gemma4"),
                                             kv_arr("tokenizer.ggml.tokens", 4, [1, 2])], []))

# --- safetensors --------------------------------------------------------------------------------------------
def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


good = {"a.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b.bias": {"dtype": "BF16", "shape": [2], "data_offsets": [16, 20]}, "__metadata__": {"format": "pt"}}
put("safetensors", "small.safetensors", safetensors(good, f32(range(4)) + b"\x80\x3f\x00\x40"))
put("safetensors", "huge_header_length.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
put("safetensors", "header_past_end.safetensors", struct.pack("<Q", 100) + b"{}")
put("safetensors", "not_json.safetensors", struct.pack("<Q", 4) + b"{{{{")
put("safetensors", "offsets_past_end.safetensors",
    safetensors({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}}, f32(range(4))))
put("safetensors", "offsets_reversed.safetensors",
    safetensors({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, f32(range(4))))
put("safetensors", "shape_size_mismatch.safetensors",
    safetensors({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, f32(range(4))))
put("safetensors", "shape_overflow.safetensors",
    safetensors({"t": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 16]}}, f32(range(4))))
put("safetensors", "negative_shape.safetensors",
    safetensors({"t": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, f32(range(4))))
put("safetensors", "bad_dtype.safetensors",
    safetensors({"t": {"dtype": "Q9", "shape": [4], "data_offsets": [0, 16]}}, f32(range(4))))
put("safetensors", "wrong_types.safetensors",
    safetensors({"t": {"dtype": 5, "shape": "x", "data_offsets": {"a": 1}}}, f32(range(4))))
put("safetensors", "header_not_object.safetensors", safetensors([1, 2, 3], b""))
put("safetensors", "tiny.safetensors", b"\x01\x00")

# --- WAV ----------------------------------------------------------------------------------------------------
def wav_bytes(channels, width, rate, frames):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def riff(chunks):
    body = b"WAVE" + b"".join(cid + struct.pack("<I", len(c)) + c + (b"\0" if len(c) % 2 else b"") for cid, c in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


put("wav", "pcm16_mono.wav", wav_bytes(1, 2, 16000, struct.pack("<8h", 0, 1000, -1000, 32767, -32768, 5, 6, 7)))
put("wav", "pcm8_stereo.wav", wav_bytes(2, 1, 8000, bytes(range(0, 256, 16))))
put("wav", "pcm24_mono.wav", wav_bytes(1, 3, 22050, bytes(range(18))))
put("wav", "float32.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)), (b"data", f32([0.5, -0.25, 1.0]))]))
put("wav", "float64.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 3, 1, 16000, 128000, 8, 64)), (b"data", struct.pack("<2d", 0.5, -1))]))
put("wav", "zero_channels.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 0, 16000, 0, 0, 16)), (b"data", b"\0\0")]))
put("wav", "zero_bits.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 1, 16000, 0, 0, 0)), (b"data", b"\0\0")]))
put("wav", "odd_bits.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 1, 16000, 0, 2, 12)), (b"data", b"\0\0")]))
put("wav", "many_channels.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 65535, 16000, 0, 2, 16)), (b"data", b"\0\0")]))
put("wav", "no_data.wav", riff([(b"fmt ", struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16))]))
put("wav", "data_before_fmt.wav", riff([(b"data", b"\0\0"), (b"fmt ", struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16))]))
put("wav", "chunk_past_end.wav", b"RIFF\x24\0\0\0WAVEfmt \xff\xff\xff\xff" + b"\0" * 16)
put("wav", "short_fmt.wav", riff([(b"fmt ", b"\x01\x00"), (b"data", b"\0\0")]))
put("wav", "extensible.wav", riff([(b"fmt ", struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 0) +
                                      b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"), (b"data", b"\1\2\3\4")]))
put("wav", "not_riff.wav", b"RIFX" + b"\0" * 40)

# --- images: a few valid ones (PIL) and headers that ask for huge sizes -------------------------------------
try:
    from PIL import Image
    for fmt, name, mode in [("PNG", "rgb.png", "RGB"), ("PNG", "grey_alpha.png", "LA"), ("JPEG", "rgb.jpg", "RGB"),
                            ("BMP", "rgb.bmp", "RGB"), ("GIF", "palette.gif", "P"), ("TGA", "rgb.tga", "RGB"),
                            ("PPM", "rgb.ppm", "RGB")]:
        buf = io.BytesIO()
        Image.new(mode, (5, 3), (10, 200) if mode == "LA" else (10 if mode == "P" else (10, 20, 30))).save(buf, fmt)
        put("image", name, buf.getvalue())
except ImportError:
    pass
put("image", "pnm_huge.ppm", b"P6\n1000000 1000000\n255\n" + b"\0" * 12)
put("image", "pnm_big.ppm", b"P6\n16000 16000\n255\n" + b"\0" * 12)
put("image", "bmp_huge.bmp", b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) +
    struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 0, 0, 0, 0) + b"\0" * 16)
put("image", "empty.bin", b"")

# --- text inputs ----------------------------------------------------------------------------------------------
put("jinja", "loops.jinja", "{% for m in messages %}{{ loop.index }}:{{ m.role | upper }} {{ m.content | tojson }}"
    "{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}{% endif %}\n{% endfor %}"
    "{% set ns = namespace(x=0) %}{% for i in range(n) %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}")
put("jinja", "macros.jinja", "{% macro f(a, b=2) %}{{ a ~ b }}{% if a < 3 %}{{ f(a + 1) }}{% endif %}{% endmacro %}"
    "{{ f(0) }}{{ 'x' * 3 }}{{ s[::-1] }}{{ s.split('b') | join('|') }}{{ [3,1,2] | sort | list }}{{ x | abs }}")
put("jinja", "errors.jinja", "{{ raise_exception('no') if none is none }}{% if %}")
put("jinja", "unclosed.jinja", "{% for x in y %}{{ x ")
put("jinja", "recursion.jinja", "{% macro f(a) %}{{ f(a) }}{% endmacro %}{{ f(1) }}")
put("jinja", "big_repeat.jinja", "{{ 'aaaaaaaa' * 100000000 }}")
put("jinja", "deep_nesting.jinja", "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
put("jinja", "deep_lists.jinja", "{{ " + "[" * 5000 + "]" * 5000 + " }}")
put("jinja", "dict_and_filters.jinja", "{% set d = {'a': 1, 'b': [1, 2]} %}{{ d | tojson(indent=2) }}{{ d.items() | list }}"
    "{{ 'Hi %s' % s }}{{ '{:>5}'.format(1) if false else 'x' }}{{ strftime_now('%Y-%m-%d') }}{{ 10 // 0 }}")

put("output_parser", "content.txt", "\x01Hello there.<turn|>")
put("output_parser", "thought.txt", "\x03<|channel>thought\nLet me think.<channel|>The answer is 4.<turn|>")
put("output_parser", "tool_call.txt", "\x05<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:3,units:[1,2.5,true,null],"
    "opts:{deep:{x:-1e5}}}<tool_call|><|tool_response>")
put("output_parser", "broken_call.txt", "\x02<|tool_call>call:f{a:<|\"|>unterminated")
put("output_parser", "deep_call.txt", "\x07<|tool_call>call:f{a:" + "[" * 200 + "]" * 200 + "}<tool_call|>")
put("output_parser", "markers.txt", "\x00<|channel><channel|><|tool_call><tool_call|><|\"|><|turn><turn|>")

put("tokenizer_json", "bpe.json", json.dumps({
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True} for i, t in enumerate(["<pad>", "<eos>", "<bos>", "<unk>"])],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
    "post_processor": None,
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                  {"type": "ByteFallback"}, {"type": "Fuse"}]},
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
              "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "H": 4, "e": 5, "l": 6, "o": 7, "He": 8,
                        "ll": 9, "\u2581": 10, "<0x41>": 11, "<0xFF>": 12},
              "merges": ["H e", "l l"]}}))
put("tokenizer_json", "metaspace.json", json.dumps({
    "added_tokens": [], "normalizer": None,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]], "byte_fallback": False}}))
put("tokenizer_json", "bad_ids.json", json.dumps({"added_tokens": [{"id": -5, "content": "x", "special": True},
                                                                    {"id": 1 << 40, "content": "y"}],
                                                   "model": {"type": "BPE", "vocab": {"a": 7, "b": -1}, "merges": ["a b c", "q"]}}))
put("tokenizer_json", "unigram.json", json.dumps({"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b", -2.0]]}}))
put("tokenizer_json", "regex_split.json", json.dumps({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|\\p{L}+|[0-9]{1,3}| ?[^\\s\\p{L}\\p{N}]+"},
                                                                         "behavior": "Isolated", "invert": False},
                                                      "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}))

put("chat_request", "simple.json", json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                                            {"role": "user", "content": "Hi"}],
                                               "enable_thinking": True, "add_generation_prompt": True}))
put("chat_request", "tools.json", json.dumps({
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image"}]},
                 {"role": "assistant", "content": "", "reasoning_content": "thinking",
                  "tool_calls": [{"id": "c1", "function": {"name": "get", "arguments": {"city": "Paris", "n": [1, {"x": None}]}}},
                                 {"id": "c2", "function": {"name": "get", "arguments": "{\"city\": \"Rome\"}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "{\"t\": 21}"},
                 {"role": "tool", "name": "get", "content": "sunny"}],
    "tools": [{"type": "function", "function": {"name": "get", "description": "weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]},
                                         "n": {"type": "array", "items": {"type": "integer"}}}, "required": ["city"]}}}]}))
put("chat_request", "bare_array.json", json.dumps([{"role": "user", "content": "x"}]))
put("chat_request", "bad_arguments.json", json.dumps({"messages": [{"role": "assistant", "tool_calls": [
    {"function": {"name": "f", "arguments": "{not json"}}]}]}))
put("chat_request", "deep.json", "[" * 3000 + "]" * 3000)
put("chat_request", "wrong_types.json", json.dumps({"messages": [{"role": 5, "content": {"a": 1}}], "tools": "x"}))

put("openai_request", "chat.json", json.dumps({
    "model": "gemma4", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                                                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                                                                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}],
    "max_tokens": 16, "temperature": 0.7, "top_p": 0.9, "top_k": 40, "seed": 1, "stream": True,
    "stream_options": {"include_usage": True}, "stop": ["\n", "x"], "logprobs": True, "top_logprobs": 2,
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "parallel_tool_calls": False, "response_format": {"type": "json_object"},
    "chat_template_kwargs": {"enable_thinking": True}}))
put("openai_request", "completion.json", json.dumps({"model": "m", "prompt": "Once upon", "max_tokens": 5, "n": 1, "echo": False}))
put("openai_request", "bad_base64.json", json.dumps({"messages": [{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@="}}]}]}))
put("openai_request", "bad_values.json", json.dumps({"messages": [], "max_tokens": -1, "temperature": 1e308, "top_k": 1.5,
                                                      "n": 1 << 62, "stop": 5, "tool_choice": {"type": "function"}}))
put("openai_request", "not_object.json", "[1, 2, 3]")
put("openai_request", "truncated.json", '{"messages": [{"role": "user", "content": "x')
put("tokenizer_json", "wrong_field_types.json", json.dumps({
    "added_tokens": [{"id": 0, "content": "<pad>", "special": 5, "lstrip": "no"}],
    "normalizer": {"type": "Replace", "pattern": {"String": 1}, "content": []},
    "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": 3}}))
