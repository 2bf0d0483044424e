"""LoRA in the Python package.

- enable_lora as KerasHub defines it (keras_hub/src/models/backbone.py, keras/src/layers/core/einsum_dense.py):
  the query/value layers, lora_kernel_a kernel.shape[:-1] + (rank,) he_uniform (limit sqrt(6 / fan_in),
  fan_in = prod(kernel.shape[:-1])), lora_kernel_b (rank, kernel.shape[-1]) zeros, outputs unchanged until b is
  set; the factors are writable views whose values the next call uses; save_lora_weights / load_lora_weights round
  trip against a fresh model that merges the saved adapter on load (lora_adapters=, the engine's merge path).
- load_lora_weights of another tool's PEFT adapter (written here with NumPy) is merged, giving the outputs of a
  model whose weights NumPy merged itself (W + lora_alpha / r * B @ A); loading again replaces the adapter."""

import json
import shutil
import struct

import numpy as np
import pytest

from conftest import assert_close
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


def kernel_geometry(model, block):
    """(query heads, kv heads, head_dim) of a decoder block, from the config as KerasHub reads it."""
    full = model.layer_types[block] == "full_attention"
    head_dim = model.global_head_dim if full and model.global_head_dim else model.head_dim
    kv = model.num_global_key_value_heads if full and model.num_global_key_value_heads else model.num_key_value_heads
    return model.num_query_heads, kv, head_dim


def test_enable_lora_shapes_initialisation_and_unchanged_outputs(test_model):
    inputs = {"token_ids": TOKENS, "padding_mask": np.ones_like(TOKENS)}
    model = Gemma4Backbone.from_preset(test_model)
    base = model(inputs)
    params = model.count_params()
    assert not model.lora_enabled and model.lora_layers() == {} and model.count_trainable_params() == 0
    with pytest.raises(ValueError, match="enable_lora"):
        model.save_lora_weights("unused.lora.h5")
    model.enable_lora(4)
    layers = model.lora_layers()
    # KerasHub's flatten order within a block: value, then query (the test model has no KV sharing, no K=V).
    assert list(layers) == [f"{l}/{n}" for l in range(model.num_layers) for n in ("value", "query")]
    total = 0
    for key, layer in layers.items():
        heads, kv, head_dim = kernel_geometry(model, layer.block)
        groups = heads if layer.name == "query" else kv
        assert layer.kernel_shape == (groups, model.hidden_dim, head_dim), key
        assert layer.lora_kernel_a.shape == (groups, model.hidden_dim, 4) and layer.lora_kernel_a.dtype == np.float32
        assert layer.lora_kernel_b.shape == (4, head_dim) and layer.lora_kernel_b.dtype == np.float32
        assert layer.lora_rank == 4 and layer.lora_alpha == 4.0
        assert not layer.lora_kernel_b.any(), key  # zeros
        bound = np.sqrt(6.0 / (groups * model.hidden_dim))  # he_uniform
        a = layer.lora_kernel_a
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound, key
        assert abs(a.std() - bound / np.sqrt(3)) < 0.1 * bound / np.sqrt(3), key  # uniform's spread
        total += a.size + layer.lora_kernel_b.size
    assert model.count_trainable_params() == total
    assert sum(w.size for w in model.trainable_weights) == total
    assert model.count_params() == params  # the frozen weights are still counted once, as in KerasHub
    assert np.array_equal(model(inputs), base)  # b = 0: bit-identical
    with pytest.raises(ValueError, match="rank"):
        model.enable_lora(0)
    with pytest.raises(ValueError, match="no_such_layer"):
        model.enable_lora(2, target_layer_names=["no_such_layer"])
    model.enable_lora(2, target_layer_names=["query", "ffw_linear"])
    assert sorted({k.split("/")[1] for k in model.lora_layers()}) == ["ffw_linear", "query"]
    assert model.lora_layers()["0/ffw_linear"].lora_kernel_a.shape == (model.intermediate_dim, 2)


def set_random_factors(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.lora_layers().values():
        layer.lora_kernel_a[...] = rng.normal(0, 0.3, layer.lora_kernel_a.shape)
        layer.lora_kernel_b[...] = rng.normal(0, 0.3, layer.lora_kernel_b.shape)


@pytest.mark.parametrize("saved", ["adapter", "model.lora.h5"])
def test_set_factors_change_outputs_and_round_trip(test_model, tmp_path, saved):
    inputs = {"token_ids": TOKENS, "padding_mask": np.ones_like(TOKENS)}
    model = Gemma4Backbone.from_preset(test_model)
    base = model(inputs)
    model.enable_lora(4)
    set_random_factors(model, 1)
    adapted = model(inputs)
    assert np.abs(adapted - base).max() > 1e-2 * np.abs(base).max()
    path = tmp_path / saved
    model.save_lora_weights(path)
    # The engine's load-time merge of the saved file (another route to W + alpha/r a @ b).
    merged = Gemma4Backbone.from_preset(test_model, lora_adapters=[str(path)])
    assert_close(adapted, merged(inputs), "live adapter vs merged on load")
    # load_lora_weights into a fresh enable_lora model: the same arrays, the same outputs.
    fresh = Gemma4Backbone.from_preset(test_model)
    fresh.enable_lora(4)
    views = fresh.lora_layers()
    fresh.load_lora_weights(path)
    for key, layer in model.lora_layers().items():
        np.testing.assert_array_equal(views[key].lora_kernel_a, layer.lora_kernel_a, err_msg=key)  # in place
        np.testing.assert_array_equal(views[key].lora_kernel_b, layer.lora_kernel_b, err_msg=key)
    np.testing.assert_array_equal(fresh(inputs), adapted)
    # Not enabled yet: load_lora_weights enables LoRA with the file's rank, as KerasHub's does.
    other = Gemma4Backbone.from_preset(test_model)
    other.load_lora_weights(path)
    assert other.lora_rank == 4
    np.testing.assert_array_equal(other(inputs), adapted)
    # A rank mismatch is an error (KerasHub: the ranks must match).
    rank2 = Gemma4Backbone.from_preset(test_model)
    rank2.enable_lora(2)
    with pytest.raises(ValueError):
        rank2.load_lora_weights(path)


def test_views_are_live_and_shared(test_model):
    inputs = {"token_ids": TOKENS, "padding_mask": np.ones_like(TOKENS)}
    model = Gemma4Backbone.from_preset(test_model)
    base = model(inputs)
    model.enable_lora(2)
    first = model.lora_layers()["0/query"]
    again = model.lora_layers()["0/query"]
    assert np.shares_memory(first.lora_kernel_b, again.lora_kernel_b)  # views of one buffer, not copies
    first.lora_kernel_b[...] = 0.5
    changed = model(inputs)
    assert np.abs(changed - base).max() > 1e-3
    again.lora_kernel_b[...] = 0.0  # back to b = 0 through the other view: exactly the frozen outputs
    np.testing.assert_array_equal(model(inputs), base)
    model.enable_lora(2)  # replaces the adapters; an old view stays valid memory but no longer matters
    first.lora_kernel_b[...] = 1.0
    np.testing.assert_array_equal(model(inputs), base)


def test_causal_lm_generates_with_the_live_adapter(test_model, tmp_path):
    lm = Gemma4CausalLM.from_preset(test_model)
    base = lm.generate("Hello", max_length=16, stop_token_ids=None)
    lm.backbone.enable_lora(4)
    assert lm.generate("Hello", max_length=16, stop_token_ids=None) == base
    set_random_factors(lm.backbone, 2)
    adapted = lm.generate("Hello", max_length=16, stop_token_ids=None)  # the cached prompt is not reused
    lm.backbone.save_lora_weights(tmp_path / "adapter")
    merged = Gemma4CausalLM.from_preset(test_model, lora_adapters=[str(tmp_path / "adapter")])
    assert adapted == merged.generate("Hello", max_length=16, stop_token_ids=None)
    assert adapted != base
    assert "".join(lm.generate_stream("Hello", max_length=16, stop_token_ids=None)) == adapted[len("Hello"):]
