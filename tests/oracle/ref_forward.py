#!/usr/bin/python3
"""Plain NumPy (float64) forward pass of a Gemma 4 text model in Hugging Face layout: a third opinion when
gemma4.cpp and llama.cpp disagree. Written from the transformers semantics in transformers models/gemma4/modeling_gemma4.py
(section 2), for clarity rather than speed; fine for the tiny test models.

  ref_forward.py MODEL_DIR --tokens 2,17,300 --out REF.npy [--dtype f64|f32] [--no-softcap]
                 [--donor-rule hf|llama]

Writes the logits (after the final soft-cap) for every position as float32 [T, vocab].
--donor-rule llama uses llama.cpp's KV-sharing donors (layers n_kv-2 / n_kv-1) instead of transformers'
(last non-shared layer of the same type); they agree when the last two non-shared layers are [sliding, full].
"""

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_to_gguf import Gemma4Hparams, load_text_config, read_safetensors_index, strip_prefix, to_f32  # noqa


def load_weights(model_dir, dt):
    w = {}
    for name, e in read_safetensors_index(model_dir).items():
        w[strip_prefix(name)] = to_f32(np.asarray(e.raw()), e.dtype).astype(dt)
    return w


def rms_norm(x, weight, eps):
    y = x * (np.mean(x * x, axis=-1, keepdims=True) + eps) ** -0.5
    return y * weight if weight is not None else y


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, inv_freq):
    """x [T, heads, D]; NeoX / rotate_half pairing (i, i + D/2); inv_freq [D/2]."""
    D = x.shape[-1]
    ang = pos[:, None].astype(x.dtype) * inv_freq[None, :].astype(x.dtype)  # [T, D/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(hp, w, tokens, dt=np.float64, softcap=True, donor_rule="hf"):
    T = len(tokens)
    tokens = np.asarray(tokens)
    pos = np.arange(T)
    eps = hp.eps
    H = hp.H
    x = w["embed_tokens.weight"][tokens] * dt(math.sqrt(H))

    if hp.P:
        P, L = hp.P, hp.L
        tok = w["embed_tokens_per_layer.weight"][tokens].reshape(T, L, P) * dt(math.sqrt(P))
        proj = (x @ w["per_layer_model_projection.weight"].T) * dt(H ** -0.5)
        proj = rms_norm(proj.reshape(T, L, P), w["per_layer_projection_norm.weight"], eps)
        ple = (proj + tok) * dt(2 ** -0.5)

    # RoPE tables
    inv_swa = 1.0 / hp.theta_swa ** (np.arange(0, hp.hd, 2, dtype=np.float64) / hp.hd)
    n_rot = int(hp.partial_rotary * hp.ghd // 2)
    inv_full = np.zeros(hp.ghd // 2)
    inv_full[:n_rot] = 1.0 / hp.theta_full ** (np.arange(0, 2 * n_rot, 2, dtype=np.float64) / hp.ghd)

    first_shared = hp.first_shared
    kv_store = {}
    causal = pos[:, None] >= pos[None, :]
    window = (pos[:, None] - pos[None, :]) < hp.window

    for l in range(hp.L):
        p = f"layers.{l}."
        swa = hp.is_swa[l]
        hd, nkv = hp.head_dim(l), hp.kv_heads(l)
        r = x
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, hp.nh, hd)
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
        q = rope(q, pos, inv_swa if swa else inv_full)
        if first_shared <= 0 or l < first_shared:
            kr = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, nkv, hd)
            if p + "self_attn.v_proj.weight" in w:
                vr = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, nkv, hd)
            else:
                vr = kr
            k = rope(rms_norm(kr, w[p + "self_attn.k_norm.weight"], eps), pos, inv_swa if swa else inv_full)
            v = rms_norm(vr, None, eps)
            kv_store[l] = (k, v)
        else:
            if donor_rule == "hf":
                src = max(j for j in range(first_shared) if hp.is_swa[j] == swa)
            else:
                src = first_shared - (2 if swa else 1)
            k, v = kv_store[src]
        nkv_here = k.shape[1]
        group = hp.nh // nkv_here
        mask = causal & window if swa else causal
        out = np.empty((T, hp.nh, hd), dtype=dt)
        for hh in range(hp.nh):
            kv = hh // group
            s = q[:, hh, :] @ k[:, kv, :].T  # scale 1.0
            s = np.where(mask, s, -np.inf)
            s = s - s.max(axis=-1, keepdims=True)
            pr = np.exp(s)
            pr /= pr.sum(axis=-1, keepdims=True)
            out[:, hh, :] = pr @ v[:, kv, :]
        a = out.reshape(T, hp.nh * hd) @ w[p + "self_attn.o_proj.weight"].T
        x = r + rms_norm(a, w[p + "post_attention_layernorm.weight"], eps)

        r = x
        n = rms_norm(x, w[p + "pre_feedforward_layernorm.weight"], eps)
        f = (gelu_tanh(n @ w[p + "mlp.gate_proj.weight"].T) * (n @ w[p + "mlp.up_proj.weight"].T)) \
            @ w[p + "mlp.down_proj.weight"].T
        if p + "router.proj.weight" in w:
            f1 = rms_norm(f, w[p + "post_feedforward_layernorm_1.weight"], eps)
            z = rms_norm(r, None, eps) * w[p + "router.scale"] * dt(H ** -0.5)
            logits = z @ w[p + "router.proj.weight"].T
            logits = logits - logits.max(axis=-1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=-1, keepdims=True)
            xe = rms_norm(r, w[p + "pre_feedforward_layernorm_2.weight"], eps)
            gu, dn, pes = w[p + "experts.gate_up_proj"], w[p + "experts.down_proj"], w[p + "router.per_expert_scale"]
            Im = dn.shape[2]
            f2 = np.zeros_like(x)
            for t in range(T):
                top = np.argsort(-probs[t], kind="stable")[: hp.topk]
                wt = probs[t, top] / probs[t, top].sum()
                for e, we in zip(top, wt):
                    g_u = gu[e] @ xe[t]
                    y = dn[e] @ (gelu_tanh(g_u[:Im]) * g_u[Im:])
                    f2[t] += y * we * pes[e]
            f2 = rms_norm(f2, w[p + "post_feedforward_layernorm_2.weight"], eps)
            f = f1 + f2
        x = r + rms_norm(f, w[p + "post_feedforward_layernorm.weight"], eps)

        if hp.P:
            g = gelu_tanh(x @ w[p + "per_layer_input_gate.weight"].T) * ple[:, l, :]
            x = x + rms_norm(g @ w[p + "per_layer_projection.weight"].T, w[p + "post_per_layer_input_norm.weight"],
                             eps)
        if p + "layer_scalar" in w:
            x = x * w[p + "layer_scalar"].reshape(())

    x = rms_norm(x, w["norm.weight"], eps)
    head = w.get("lm_head.weight") if not hp.tied else None
    logits = x @ (head if head is not None else w["embed_tokens.weight"]).T
    if softcap and hp.softcap:
        logits = np.tanh(logits / hp.softcap) * hp.softcap
    return logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="f64", choices=["f64", "f32"])
    ap.add_argument("--no-softcap", action="store_true")
    ap.add_argument("--donor-rule", default="hf", choices=["hf", "llama"])
    a = ap.parse_args()
    dt = np.float64 if a.dtype == "f64" else np.float32
    hp = Gemma4Hparams(load_text_config(a.model_dir))
    w = load_weights(a.model_dir, dt)
    toks = [int(t) for t in a.tokens.replace(",", " ").split()]
    logits = forward(hp, w, toks, dt, not a.no_softcap, a.donor_rule)
    np.save(a.out, logits.astype(np.float32))


if __name__ == "__main__":
    main()
