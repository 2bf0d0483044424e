"""load_lora_weights: a PEFT adapter written here with NumPy, merged by the engine, gives the outputs of a model
whose weights NumPy merged itself (W + lora_alpha / r * B @ A); loading again replaces the adapter."""

import json
import shutil
import struct

import numpy as np
import pytest

from gemma4cpp.models import Gemma4Backbone, Gemma4CausalLM

TOKENS = np.array([[2, 17, 300, 41, 9, 77, 5]], dtype="int32")


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors):
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


def make_adapter(model_dir, out_dir, seed, merged_dir):
    weights = read_safetensors(model_dir / "model.safetensors")
    rng = np.random.default_rng(seed)
    rank, alpha = 4, 8
    adapter = {}
    suffix = "layers.0.self_attn.q_proj.weight"
    prefix = next(k for k in weights if k.endswith(suffix))[:-len(suffix)]
    for module in [prefix + "layers.0.self_attn.q_proj", prefix + "layers.1.self_attn.v_proj"]:
        w = weights[module + ".weight"]
        a = rng.normal(0, 0.3, (rank, w.shape[1])).astype(np.float32)
        b = rng.normal(0, 0.3, (w.shape[0], rank)).astype(np.float32)
        adapter[f"base_model.model.{module}.lora_A.weight"] = a
        adapter[f"base_model.model.{module}.lora_B.weight"] = b
        weights[module + ".weight"] = (w.astype(np.float64) + alpha / rank * (b.astype(np.float64) @ a)).astype(np.float32)
    out_dir.mkdir()
    write_safetensors(out_dir / "adapter_model.safetensors", adapter)
    (out_dir / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": rank, "lora_alpha": alpha, "target_modules": ["q_proj", "v_proj"]}))
    shutil.copytree(model_dir, merged_dir, ignore=shutil.ignore_patterns("model.safetensors"))
    write_safetensors(merged_dir / "model.safetensors", weights)


def test_load_lora_weights_merges_the_adapter(test_model, tmp_path):
    make_adapter(test_model, tmp_path / "a1", 5, tmp_path / "merged1")
    make_adapter(test_model, tmp_path / "a2", 6, tmp_path / "merged2")
    inputs = {"token_ids": TOKENS, "padding_mask": np.ones_like(TOKENS)}
    model = Gemma4Backbone.from_preset(test_model)
    base = model(inputs)
    model.load_lora_weights(tmp_path / "a1")
    with_lora = model(inputs)
    want = Gemma4Backbone.from_preset(tmp_path / "merged1")(inputs)
    np.testing.assert_allclose(with_lora, want, atol=1e-4 * np.abs(want).max())
    assert np.abs(with_lora - base).max() > 1e-2
    model.load_lora_weights(tmp_path / "a2")  # replaces a1, as KerasHub's load_lora_weights does
    want2 = Gemma4Backbone.from_preset(tmp_path / "merged2")(inputs)
    np.testing.assert_allclose(model(inputs), want2, atol=1e-4 * np.abs(want2).max())
    with pytest.raises(ValueError, match="filepath"):
        model.load_lora_weights(tmp_path / "missing")


def test_causal_lm_backbone_load_lora_weights(test_model, tmp_path):
    make_adapter(test_model, tmp_path / "a", 5, tmp_path / "merged")
    lm = Gemma4CausalLM.from_preset(test_model)
    backbone = lm.backbone
    backbone.load_lora_weights(tmp_path / "a")
    assert lm.backbone is backbone
    merged = Gemma4CausalLM.from_preset(tmp_path / "merged")
    assert lm.generate("Hello", max_length=16, stop_token_ids=None) == merged.generate(
        "Hello", max_length=16, stop_token_ids=None)


def test_enable_lora_is_not_available_yet(test_model):
    model = Gemma4Backbone.from_preset(test_model)
    with pytest.raises(ValueError, match="rank"):
        model.enable_lora(0)
    with pytest.raises(NotImplementedError):
        model.enable_lora(4)
