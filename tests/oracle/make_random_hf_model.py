#!/usr/bin/python3
"""Write a random-weight Gemma 4 text model in Hugging Face layout (config.json + model.safetensors).

  make_random_hf_model.py CONFIG.json OUT_DIR [--seed 7] [--dtype f32|bf16] [--prefix model.]

Weights follow the oracle spec's advice for numerically well-conditioned tiny models: std-0.02 matrices,
norm weights near 1, q_norm/k_norm weights scaled by head_dim**-0.25, layer_scalar and router scales near 1.
The embedding has a larger std so that next-token distributions are not flat.
Tensor names/shapes are those of transformers' Gemma4ForCausalLM (transformers models/gemma4/modeling_gemma4.py).
"""

import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_to_gguf import Gemma4Hparams, f32_to_bf16_bits  # noqa: E402


def model_tensors(hp, rng, embed_std):
    """Yield (short name, float32 array) in checkpoint order."""
    H = hp.H
    # Branch outputs are RMS-normalised; scale their post-norms to the size of the scaled embedding
    # (embed_std * sqrt(H) per component) so the layers, not the input token, decide the prediction.
    branch = max(1.0, 2.0 * embed_std * H ** 0.5)

    def mat(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(n, scale=1.0):
        return ((1.0 + 0.1 * rng.standard_normal(n)) * scale).astype(np.float32)

    yield "embed_tokens.weight", mat(hp.V, H, std=embed_std)
    if hp.P:
        yield "embed_tokens_per_layer.weight", mat(hp.V, hp.L * hp.P, std=embed_std)
        yield "per_layer_model_projection.weight", mat(hp.L * hp.P, H, std=0.05)
        yield "per_layer_projection_norm.weight", norm(hp.P)
    yield "norm.weight", norm(H)
    for l in range(hp.L):
        p = f"layers.{l}."
        hd, nkv, I = hp.head_dim(l), hp.kv_heads(l), hp.ffn_width(l)
        shared = l >= hp.first_shared
        yield p + "input_layernorm.weight", norm(H)
        yield p + "self_attn.q_proj.weight", mat(hp.nh * hd, H)
        yield p + "self_attn.q_norm.weight", norm(hd, hd ** -0.25)
        if not shared:
            yield p + "self_attn.k_proj.weight", mat(nkv * hd, H)
            if not (hp.k_eq_v and not hp.is_swa[l]):
                yield p + "self_attn.v_proj.weight", mat(nkv * hd, H)
            yield p + "self_attn.k_norm.weight", norm(hd, hd ** -0.25)
        yield p + "self_attn.o_proj.weight", mat(H, hp.nh * hd)
        yield p + "post_attention_layernorm.weight", norm(H, branch)
        yield p + "pre_feedforward_layernorm.weight", norm(H)
        yield p + "mlp.gate_proj.weight", mat(I, H)
        yield p + "mlp.up_proj.weight", mat(I, H)
        yield p + "mlp.down_proj.weight", mat(H, I)
        yield p + "post_feedforward_layernorm.weight", norm(H, branch)
        if hp.moe:
            yield p + "router.proj.weight", mat(hp.E, H, std=0.5)
            yield p + "router.scale", norm(H)
            yield p + "router.per_expert_scale", norm(hp.E)
            yield p + "experts.gate_up_proj", mat(hp.E, 2 * hp.Im, H)
            yield p + "experts.down_proj", mat(hp.E, H, hp.Im)
            yield p + "pre_feedforward_layernorm_2.weight", norm(H)
            yield p + "post_feedforward_layernorm_1.weight", norm(H, branch)
            yield p + "post_feedforward_layernorm_2.weight", norm(H, branch)
        if hp.P:
            yield p + "per_layer_input_gate.weight", mat(hp.P, H)
            yield p + "per_layer_projection.weight", mat(H, hp.P)
            yield p + "post_per_layer_input_norm.weight", norm(H, branch)
        yield p + "layer_scalar", (0.6 + 0.8 * rng.random(1)).astype(np.float32)


def write_safetensors(path, named_arrays, dtype):
    """named_arrays: list of (name, float32 array). dtype 'f32' or 'bf16'."""
    header = {}
    blobs = []
    off = 0
    for name, a in named_arrays:
        if dtype == "bf16":
            b = f32_to_bf16_bits(a).tobytes()
            st = "BF16"
        else:
            b = np.ascontiguousarray(a, dtype="<f4").tobytes()
            st = "F32"
        header[name] = {"dtype": st, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--prefix", default="model.", help="tensor name prefix (model. or model.language_model.)")
    ap.add_argument("--embed-std", type=float, default=0.5)
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    text_cfg = cfg.get("text_config", cfg)
    hp = Gemma4Hparams(text_cfg)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    tensors = [(a.prefix + n, t) for n, t in model_tensors(hp, rng, a.embed_std)]
    write_safetensors(os.path.join(a.out_dir, "model.safetensors"), tensors, a.dtype)
    shutil.copyfile(a.config, os.path.join(a.out_dir, "config.json"))
    n = sum(t.size for _, t in tensors)
    print(f"wrote {a.out_dir}: {len(tensors)} tensors, {n} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
