#!/usr/bin/python3
"""Convert a Hugging Face Gemma 4 text checkpoint into a GGUF file for llama.cpp's `gemma4` architecture.

The layout follows llama.cpp's conversion/gemma.py and src/llama-arch.cpp (tensor names, metadata keys, storage types). The GGUF
writer is self-contained (numpy + struct, GGUF v3, 32-byte alignment) and streams one tensor at a time in row
chunks, so converting a multi-GB model needs little more memory than one chunk.

Input folder:
  config.json          model_type "gemma4_text", or "gemma4" with a "text_config"
  model.safetensors    F32, BF16 or F16 tensors named `model.…` or `model.language_model.…`
                       (or sharded: model.safetensors.index.json + shards)

A tokenizer is synthesised: exactly vocab_size tokens (0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>, then byte tokens
<0x00>..<0xFF> as far as they fit, then a few SentencePiece-style pieces with merges, then <unused…> fillers),
with tokenizer.ggml.model = "gemma4" (llama.cpp: BPE on raw UTF-8 with <0xXX> byte fallback, requires a
`merges` array). The test models are driven with token ids, so the tokenizer only has to load.

Usage:
  hf_to_gguf.py MODEL_DIR OUT.gguf [--outtype f32|bf16|f16|q8_0]
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# safetensors reading (memory-mapped)

_ST_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bf16 bits
    "F64": np.dtype("<f8"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
}


class SafetensorsEntry:
    def __init__(self, path, dtype, shape, begin, end):
        self.path, self.dtype, self.shape, self.begin, self.end = path, dtype, tuple(shape), begin, end

    def raw(self):
        """Memory-mapped view of the stored values, in the stored dtype (bf16 as uint16 bits)."""
        npdt = _ST_DTYPES[self.dtype]
        count = int(np.prod(self.shape)) if self.shape else 1
        if count == 0:
            return np.zeros(self.shape, npdt)
        mm = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self.begin, shape=(self.end - self.begin,))
        return mm.view(npdt).reshape(self.shape)


def read_safetensors_index(model_dir):
    files = []
    index = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        files = [single]
    elif os.path.exists(index):
        with open(index) as f:
            files = sorted({os.path.join(model_dir, v) for v in json.load(f)["weight_map"].values()})
    else:
        raise SystemExit(f"error: no model.safetensors or model.safetensors.index.json in {model_dir}")
    entries = {}
    for path in files:
        with open(path, "rb") as f:
            (hlen,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(hlen))
        base = 8 + hlen
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in _ST_DTYPES:
                raise SystemExit(f"error: {path}: tensor {name} has unsupported dtype {info['dtype']}")
            b, e = info["data_offsets"]
            entries[name] = SafetensorsEntry(path, info["dtype"], info["shape"], base + b, base + e)
    return entries


def to_f32(a, st_dtype):
    """Convert a chunk of stored values to float32."""
    if st_dtype == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return np.asarray(a, dtype=np.float32)


def f32_to_bf16_bits(x):
    """float32 -> bf16 bits, round to nearest even; NaN stays NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x40)).astype(np.uint16)
    return rounded


def quantize_q8_0(x):
    """float32 [n, k] (k % 32 == 0) -> bytes of ggml Q8_0 blocks: per 32 values an f16 scale then 32 int8."""
    n, k = x.shape
    blocks = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    d = amax / np.float32(127.0)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1.0) / d).astype(np.float32)
    v = blocks * inv
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))  # roundf: half away from zero
    out = np.empty((blocks.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.astype(np.int8).view(np.uint8)
    return out.reshape(n, (k // 32) * 34)


# ----------------------------------------------------------------------------------------------------------------
# GGUF writing

GGML_F32, GGML_F16, GGML_Q8_0, GGML_BF16 = 0, 1, 8, 30
GGML_TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q8_0: "Q8_0", GGML_BF16: "BF16"}
FILE_TYPE = {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}
OUT_GGML = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0, "bf16": GGML_BF16}

GT_UINT8, GT_INT8, GT_UINT16, GT_INT16, GT_UINT32, GT_INT32, GT_FLOAT32, GT_BOOL, GT_STRING, GT_ARRAY, \
    GT_UINT64, GT_INT64, GT_FLOAT64 = range(13)
_SCALAR_FMT = {GT_UINT8: "<B", GT_INT8: "<b", GT_UINT16: "<H", GT_INT16: "<h", GT_UINT32: "<I", GT_INT32: "<i",
               GT_FLOAT32: "<f", GT_BOOL: "<?", GT_UINT64: "<Q", GT_INT64: "<q", GT_FLOAT64: "<d"}
_ARRAY_NP = {GT_UINT8: "<u1", GT_INT8: "<i1", GT_UINT16: "<u2", GT_INT16: "<i2", GT_UINT32: "<u4", GT_INT32: "<i4",
             GT_FLOAT32: "<f4", GT_BOOL: "<u1", GT_UINT64: "<u8", GT_INT64: "<i8", GT_FLOAT64: "<f8"}
ALIGNMENT = 32


def _gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def encode_kv(key, gtype, value, elem_type=None):
    out = [_gguf_str(key), struct.pack("<I", gtype)]
    if gtype == GT_STRING:
        out.append(_gguf_str(value))
    elif gtype == GT_ARRAY:
        out.append(struct.pack("<IQ", elem_type, len(value)))
        if elem_type == GT_STRING:
            out.extend(_gguf_str(v) for v in value)
        else:
            out.append(np.asarray(value).astype(_ARRAY_NP[elem_type]).tobytes())
    else:
        out.append(struct.pack(_SCALAR_FMT[gtype], value))
    return b"".join(out)


class TensorPlan:
    """One output tensor: name, numpy-order shape, ggml type, and a generator of byte chunks."""

    def __init__(self, name, shape, ggml_type, chunks):
        self.name, self.shape, self.ggml_type, self.chunks = name, tuple(int(s) for s in shape), ggml_type, chunks

    def nbytes(self):
        n = int(np.prod(self.shape))
        if self.ggml_type == GGML_F32:
            return 4 * n
        if self.ggml_type in (GGML_F16, GGML_BF16):
            return 2 * n
        if self.ggml_type == GGML_Q8_0:
            return n // 32 * 34
        raise ValueError(self.ggml_type)


def write_gguf(path, kvs, tensors, log=print):
    """kvs: list of encoded KV byte strings; tensors: list of TensorPlan (data produced lazily)."""
    header = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(kvs))]
    header.extend(kvs)
    offset = 0
    for t in tensors:
        ne = list(reversed(t.shape))
        header.append(_gguf_str(t.name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) +
                      struct.pack("<IQ", t.ggml_type, offset))
        offset += t.nbytes()
        offset += (-offset) % ALIGNMENT
    head = b"".join(header)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(b"\0" * ((-len(head)) % ALIGNMENT))
        for t in tensors:
            written = 0
            for chunk in t.chunks():
                b = memoryview(np.ascontiguousarray(chunk)).cast("B")
                f.write(b)
                written += len(b)
            if written != t.nbytes():
                raise RuntimeError(f"tensor {t.name}: wrote {written} bytes, expected {t.nbytes()}")
            f.write(b"\0" * ((-written) % ALIGNMENT))
            log(f"  {t.name:40s} {GGML_TYPE_NAMES[t.ggml_type]:5s} {list(t.shape)}")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------------------------
# Gemma 4 config

def load_text_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") == "gemma4" or "text_config" in cfg:
        cfg = dict(cfg.get("text_config") or {})
        cfg.setdefault("model_type", "gemma4_text")
    if cfg.get("model_type") not in (None, "gemma4_text"):
        raise SystemExit(f"error: config.json model_type {cfg.get('model_type')!r} is not gemma4_text/gemma4")
    return cfg


class Gemma4Hparams:
    def __init__(self, cfg):
        g = cfg.get
        self.cfg = cfg
        self.V = g("vocab_size", 262144)
        self.H = g("hidden_size", 2304)
        self.I = g("intermediate_size", 9216)
        self.L = g("num_hidden_layers", 30)
        self.nh = g("num_attention_heads", 8)
        self.nkv = g("num_key_value_heads", 4)
        self.hd = g("head_dim", 256)
        self.ghd = g("global_head_dim")
        if self.ghd is None:
            for li, lc in (g("per_layer_config") or {}).items():
                if "head_dim" in lc:
                    self.ghd = lc["head_dim"]
                    break
        if self.ghd is None:
            self.ghd = 512
        self.ngkv = g("num_global_key_value_heads")
        self.k_eq_v = bool(g("attention_k_eq_v", False))
        self.eps = g("rms_norm_eps", 1e-6)
        self.window = g("sliding_window", 512)
        self.ctx = g("max_position_embeddings", 131072)
        lt = g("layer_types")
        if lt is None:
            lt = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(self.L)]
            lt[-1] = "full_attention"
        if len(lt) != self.L:
            raise SystemExit(f"error: layer_types has {len(lt)} entries, num_hidden_layers is {self.L}")
        self.layer_types = lt
        self.is_swa = [t == "sliding_attention" for t in lt]
        rp = g("rope_parameters") or {}
        full = rp.get("full_attention", {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                                         "rope_theta": 1e6})
        slide = rp.get("sliding_attention", {"rope_type": "default", "rope_theta": 10000.0})
        self.theta_full = float(full.get("rope_theta", 1e6))
        self.theta_swa = float(slide.get("rope_theta", 10000.0))
        default_prf = 0.25 if full.get("rope_type", "proportional") == "proportional" else 1.0
        self.partial_rotary = float(full.get("partial_rotary_factor", default_prf))
        for which, d in (("full_attention", full), ("sliding_attention", slide)):
            if float(d.get("factor", 1.0) or 1.0) != 1.0:
                print(f"warning: rope_parameters.{which}.factor={d['factor']} is not representable; ignored",
                      file=sys.stderr)
        if float(slide.get("partial_rotary_factor", 1.0)) != 1.0:
            raise SystemExit("error: partial rotary on sliding layers is not supported by llama.cpp's gemma4")
        self.softcap = g("final_logit_softcapping")
        self.P = g("hidden_size_per_layer_input", 0) or 0
        self.Vp = g("vocab_size_per_layer_input", self.V)
        self.n_shared = g("num_kv_shared_layers", 0) or 0
        self.double_wide = bool(g("use_double_wide_mlp", False))
        self.moe = bool(g("enable_moe_block", False))
        self.E = g("num_experts") if self.moe else None
        self.topk = g("top_k_experts") if self.moe else None
        self.Im = (g("moe_intermediate_size") or g("expert_intermediate_size")) if self.moe else None
        self.tied = g("tie_word_embeddings", True)
        self.first_shared = self.L - self.n_shared

    def head_dim(self, l):
        return self.hd if self.is_swa[l] else self.ghd

    def kv_heads(self, l):
        # transformers (configuration_gemma4 @ 008e574): the global KV-head count applies to full layers only
        # with attention_k_eq_v; llama.cpp's gemma4 loader defines nkv(l) the same way.
        if not self.is_swa[l] and self.k_eq_v and self.ngkv is not None:
            return self.ngkv
        return self.nkv

    def ffn_width(self, l):
        return self.I * 2 if (self.double_wide and l >= self.first_shared) else self.I


# ----------------------------------------------------------------------------------------------------------------
# tokenizer synthesis

TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED, TT_BYTE = 1, 2, 3, 4, 5, 6


def synth_vocab(n):
    if n < 4:
        raise SystemExit("error: vocab_size must be at least 4")
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"]
    types = [TT_CONTROL, TT_CONTROL, TT_CONTROL, TT_UNKNOWN]
    for b in range(256):
        if len(tokens) >= n:
            break
        tokens.append(f"<0x{b:02X}>")
        types.append(TT_BYTE)
    sp = "\u2581"
    letters = "abcdefghijklmnopqrstuvwxyz"
    singles = [sp] + list(letters) + list(letters.upper()) + list("0123456789.,!?'-")
    merges = []
    pieces = list(singles)
    for c in letters:
        pieces.append(sp + c)
        merges.append(f"{sp} {c}")
    for a, b in ("th", "he", "in", "er", "an", "re", "on", "at", "en", "nd"):
        pieces.append(a + b)
        merges.append(f"{a} {b}")
    for p in pieces:
        if len(tokens) >= n:
            break
        tokens.append(p)
        types.append(TT_NORMAL)
    have = set(tokens)
    merges = [m for m in merges if all(x in have for x in m.split(" ")) and m.replace(" ", "") in have]
    if not merges:
        merges = ["<pad> <pad>"]  # llama.cpp requires the key; a never-matching merge keeps it non-empty
    i = 0
    while len(tokens) < n:
        tokens.append(f"<unused{i}>")
        types.append(TT_UNUSED)
        i += 1
    scores = [0.0 if t in (TT_CONTROL, TT_UNKNOWN) else -float(k) for k, t in enumerate(types)]
    return tokens, scores, types, merges


# ----------------------------------------------------------------------------------------------------------------
# tensor mapping

LAYER_MAP = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    "layer_scalar": "layer_output_scale.weight",
    "per_layer_input_gate.weight": "inp_gate.weight",
    "per_layer_projection.weight": "proj.weight",
    "post_per_layer_input_norm.weight": "post_norm.weight",
    "router.proj.weight": "ffn_gate_inp.weight",
    "router.scale": "ffn_gate_inp.scale",
    "router.per_expert_scale": "ffn_down_exps.scale",
    "experts.gate_up_proj": "ffn_gate_up_exps.weight",
    "experts.down_proj": "ffn_down_exps.weight",
    "pre_feedforward_layernorm_2.weight": "pre_ffw_norm_2.weight",
    "post_feedforward_layernorm_1.weight": "post_ffw_norm_1.weight",
    "post_feedforward_layernorm_2.weight": "post_ffw_norm_2.weight",
}
GLOBAL_MAP = {
    "embed_tokens.weight": "token_embd.weight",
    "embed_tokens_per_layer.weight": "per_layer_token_embd.weight",
    "per_layer_model_projection.weight": "per_layer_model_proj.weight",
    "per_layer_projection_norm.weight": "per_layer_proj_norm.weight",
    "norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
SKIP_PREFIXES = ("vision_tower.", "audio_tower.", "embed_vision.", "embed_audio.", "multi_modal_projector.")


def strip_prefix(name):
    for p in ("model.language_model.", "language_model.model.", "model.", "language_model."):
        if name.startswith(p):
            return name[len(p):]
    return name


def expected_shape(hp, hf_short):
    """Shape a Gemma 4 checkpoint must have for this (prefix-stripped) tensor, or None if unchecked."""
    if hf_short.startswith("layers."):
        _, ls, rest = hf_short.split(".", 2)
        l = int(ls)
        hd, nkv, I = hp.head_dim(l), hp.kv_heads(l), hp.ffn_width(l)
        table = {
            "self_attn.q_proj.weight": (hp.nh * hd, hp.H), "self_attn.k_proj.weight": (nkv * hd, hp.H),
            "self_attn.v_proj.weight": (nkv * hd, hp.H), "self_attn.o_proj.weight": (hp.H, hp.nh * hd),
            "self_attn.q_norm.weight": (hd,), "self_attn.k_norm.weight": (hd,),
            "mlp.gate_proj.weight": (I, hp.H), "mlp.up_proj.weight": (I, hp.H), "mlp.down_proj.weight": (hp.H, I),
            "layer_scalar": (1,), "per_layer_input_gate.weight": (hp.P, hp.H),
            "per_layer_projection.weight": (hp.H, hp.P),
        }
        if hp.moe:
            table.update({"router.proj.weight": (hp.E, hp.H), "router.scale": (hp.H,),
                          "router.per_expert_scale": (hp.E,), "experts.gate_up_proj": (hp.E, 2 * hp.Im, hp.H),
                          "experts.down_proj": (hp.E, hp.H, hp.Im)})
        if rest.endswith("layernorm.weight") or rest.endswith("layernorm_1.weight") or \
                rest.endswith("layernorm_2.weight") or rest == "post_per_layer_input_norm.weight":
            return (hp.H,)
        return table.get(rest)
    table = {"embed_tokens.weight": (hp.V, hp.H), "lm_head.weight": (hp.V, hp.H), "norm.weight": (hp.H,),
             "embed_tokens_per_layer.weight": (hp.Vp, hp.L * hp.P),
             "per_layer_model_projection.weight": (hp.L * hp.P, hp.H), "per_layer_projection_norm.weight": (hp.P,)}
    return table.get(hf_short)


def storage_type(gguf_name, ndim, outtype, row_len):
    if ndim <= 1 or gguf_name.endswith("_norm.weight") or not gguf_name.endswith(".weight") or \
            gguf_name.endswith("ffn_gate_inp.weight"):
        return GGML_F32
    t = OUT_GGML[outtype]
    if t == GGML_Q8_0 and row_len % 32 != 0:
        return GGML_F16
    return t


def make_chunks(entry, ggml_type, rows_per_chunk_bytes=64 << 20):
    """Generator factory streaming a safetensors tensor converted to ggml_type, a block of rows at a time."""

    def gen():
        a = entry.raw()
        shape = a.shape if a.ndim else (1,)
        a = a.reshape(-1, shape[-1]) if len(shape) >= 1 else a.reshape(1, 1)
        row_len = a.shape[1]
        step = max(1, rows_per_chunk_bytes // max(1, row_len * 4))
        for r0 in range(0, a.shape[0], step):
            blk = a[r0:r0 + step]
            if ggml_type == GGML_BF16 and entry.dtype == "BF16":
                yield np.array(blk, dtype=np.uint16)
                continue
            if ggml_type == GGML_F16 and entry.dtype == "F16":
                yield np.array(blk, dtype=np.float16)
                continue
            x = to_f32(np.asarray(blk), entry.dtype)
            if ggml_type == GGML_F32:
                yield np.ascontiguousarray(x, dtype=np.float32)
            elif ggml_type == GGML_F16:
                yield x.astype(np.float16)
            elif ggml_type == GGML_BF16:
                yield f32_to_bf16_bits(x)
            elif ggml_type == GGML_Q8_0:
                yield quantize_q8_0(x)
            else:
                raise ValueError(ggml_type)

    return gen


def const_chunks(arr):
    return lambda: iter([np.ascontiguousarray(arr)])


def build(model_dir, out_path, outtype, name=None, log=print):
    cfg = load_text_config(model_dir)
    hp = Gemma4Hparams(cfg)
    entries = read_safetensors_index(model_dir)

    # map HF names -> (gguf name, entry)
    mapped = {}
    skipped = []
    for hf_name, e in entries.items():
        short = strip_prefix(hf_name)
        if short.startswith(SKIP_PREFIXES) or hf_name.startswith(tuple("model." + p for p in SKIP_PREFIXES)):
            skipped.append(hf_name)
            continue
        if short.startswith("layers."):
            parts = short.split(".", 2)
            if len(parts) < 3 or not parts[1].isdigit() or parts[2] not in LAYER_MAP:
                raise SystemExit(f"error: unknown tensor {hf_name}")
            l = int(parts[1])
            if l >= hp.L:
                raise SystemExit(f"error: tensor {hf_name} is beyond num_hidden_layers={hp.L}")
            gname = f"blk.{l}.{LAYER_MAP[parts[2]]}"
        elif short in GLOBAL_MAP:
            gname = GLOBAL_MAP[short]
        elif short.endswith("rotary_emb.inv_freq"):
            skipped.append(hf_name)
            continue
        else:
            raise SystemExit(f"error: unknown tensor {hf_name}")
        exp = expected_shape(hp, short)
        if exp is not None and tuple(e.shape) != tuple(exp):
            raise SystemExit(f"error: tensor {hf_name} has shape {list(e.shape)}, config implies {list(exp)}")
        if gname in mapped:
            raise SystemExit(f"error: two tensors map to {gname}")
        mapped[gname] = (short, e)
    if skipped:
        log(f"skipping {len(skipped)} non-text tensors")

    if "output.weight" in mapped and hp.tied:
        del mapped["output.weight"]  # tied duplicate: llama.cpp reuses token_embd
    if hp.P and "per_layer_token_embd.weight" not in mapped:
        raise SystemExit("error: hidden_size_per_layer_input is set but embed_tokens_per_layer.weight is missing")
    if not hp.P and "per_layer_token_embd.weight" in mapped:
        raise SystemExit("error: embed_tokens_per_layer.weight present but hidden_size_per_layer_input is 0")
    if hp.P and hp.Vp != hp.V:
        raise SystemExit(f"error: llama.cpp needs vocab_size_per_layer_input ({hp.Vp}) == vocab_size ({hp.V})")
    for req in ("token_embd.weight", "output_norm.weight"):
        if req not in mapped:
            raise SystemExit(f"error: missing tensor for {req}")
    if hp.n_shared:
        if hp.first_shared < 2:
            raise SystemExit("error: llama.cpp needs at least 2 non-shared layers")
        if not (hp.is_swa[hp.first_shared - 2] and not hp.is_swa[hp.first_shared - 1]):
            print("warning: the last two non-KV-shared layers are not [sliding, full]; llama.cpp's donor rule "
                  "(layers n_kv-2 for sliding, n_kv-1 for full) then differs from transformers'",
                  file=sys.stderr)

    # ---- metadata
    A = "gemma4"
    kv = []
    add = lambda k, t, v, et=None: kv.append(encode_kv(k, t, v, et))
    add("general.architecture", GT_STRING, A)
    add("general.name", GT_STRING, name or os.path.basename(os.path.abspath(model_dir)))
    # gemma4.cpp's own key (llama.cpp ignores it): the compute dtype the checkpoint declares, which decides how
    # gemma4.cpp rounds the embedding normalisers.
    compute_dtype = hp.cfg.get("torch_dtype") or hp.cfg.get("dtype")
    if isinstance(compute_dtype, str):
        add("gemma4cpp.compute_dtype", GT_STRING, compute_dtype)
    add("general.file_type", GT_UINT32, FILE_TYPE[outtype])
    add("general.quantization_version", GT_UINT32, 2)
    add("general.alignment", GT_UINT32, ALIGNMENT)
    add(f"{A}.block_count", GT_UINT32, hp.L)
    add(f"{A}.context_length", GT_UINT32, hp.ctx)
    add(f"{A}.embedding_length", GT_UINT32, hp.H)
    if hp.double_wide and hp.n_shared:
        add(f"{A}.feed_forward_length", GT_ARRAY, [hp.ffn_width(l) for l in range(hp.L)], GT_INT32)
    else:
        add(f"{A}.feed_forward_length", GT_UINT32, hp.I)
    add(f"{A}.attention.head_count", GT_UINT32, hp.nh)
    if len({hp.kv_heads(l) for l in range(hp.L)}) > 1:
        add(f"{A}.attention.head_count_kv", GT_ARRAY, [hp.kv_heads(l) for l in range(hp.L)], GT_INT32)
    else:
        add(f"{A}.attention.head_count_kv", GT_UINT32, hp.nkv)
    add(f"{A}.attention.key_length", GT_UINT32, hp.ghd)
    add(f"{A}.attention.value_length", GT_UINT32, hp.ghd)
    add(f"{A}.attention.key_length_swa", GT_UINT32, hp.hd)
    add(f"{A}.attention.value_length_swa", GT_UINT32, hp.hd)
    add(f"{A}.attention.layer_norm_rms_epsilon", GT_FLOAT32, hp.eps)
    add(f"{A}.attention.sliding_window", GT_UINT32, hp.window)
    add(f"{A}.attention.sliding_window_pattern", GT_ARRAY, hp.is_swa, GT_BOOL)
    add(f"{A}.attention.shared_kv_layers", GT_UINT32, hp.n_shared)
    add(f"{A}.embedding_length_per_layer_input", GT_UINT32, hp.P)
    add(f"{A}.rope.freq_base", GT_FLOAT32, hp.theta_full)
    add(f"{A}.rope.freq_base_swa", GT_FLOAT32, hp.theta_swa)
    add(f"{A}.rope.dimension_count", GT_UINT32, hp.ghd)
    add(f"{A}.rope.dimension_count_swa", GT_UINT32, hp.hd)
    if hp.softcap:
        add(f"{A}.final_logit_softcapping", GT_FLOAT32, float(hp.softcap))
    if hp.moe:
        add(f"{A}.expert_count", GT_UINT32, hp.E)
        add(f"{A}.expert_used_count", GT_UINT32, hp.topk)
        add(f"{A}.expert_feed_forward_length", GT_UINT32, hp.Im)

    tokens, scores, types, merges = synth_vocab(hp.V)
    add("tokenizer.ggml.model", GT_STRING, "gemma4")
    add("tokenizer.ggml.tokens", GT_ARRAY, tokens, GT_STRING)
    add("tokenizer.ggml.scores", GT_ARRAY, scores, GT_FLOAT32)
    add("tokenizer.ggml.token_type", GT_ARRAY, types, GT_INT32)
    add("tokenizer.ggml.merges", GT_ARRAY, merges, GT_STRING)
    add("tokenizer.ggml.bos_token_id", GT_UINT32, 2)
    add("tokenizer.ggml.eos_token_id", GT_UINT32, 1)
    add("tokenizer.ggml.unknown_token_id", GT_UINT32, 3)
    add("tokenizer.ggml.padding_token_id", GT_UINT32, 0)
    add("tokenizer.ggml.add_bos_token", GT_BOOL, True)
    add("tokenizer.ggml.add_space_prefix", GT_BOOL, False)

    # ---- tensors, in a stable order: globals, rope_freqs, then per layer
    def order_key(gname):
        if gname.startswith("blk."):
            l = int(gname.split(".")[1])
            return (2, l, gname)
        return (0, 0, gname)

    plans = []
    for gname in sorted(mapped, key=order_key):
        short, e = mapped[gname]
        shape = tuple(e.shape) if e.shape else (1,)
        t = storage_type(gname, len(shape), outtype, shape[-1])
        plans.append(TensorPlan(gname, shape, t, make_chunks(e, t)))
    n_rot = int(hp.ghd * hp.partial_rotary / 2)
    rope_freqs = np.array([1.0] * n_rot + [1e30] * (hp.ghd // 2 - n_rot), dtype=np.float32)
    if not all(hp.is_swa):
        plans.insert(1, TensorPlan("rope_freqs.weight", rope_freqs.shape, GGML_F32, const_chunks(rope_freqs)))

    log(f"writing {out_path}: {len(plans)} tensors, outtype {outtype}")
    write_gguf(out_path, kv, plans, log=log)
    return out_path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", default="f32", choices=["f32", "f16", "bf16", "q8_0"])
    ap.add_argument("--name", default=None, help="general.name (default: folder name)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    log = (lambda *x, **k: None) if a.quiet else (lambda *x, **k: print(*x, file=sys.stderr, **k))
    build(a.model_dir, a.out, a.outtype, a.name, log)


if __name__ == "__main__":
    main()
