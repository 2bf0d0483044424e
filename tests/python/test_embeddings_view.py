"""token_embedding.embeddings is a view of the engine's weights, never a copy: for a float32 safetensors file it
points into the file's memory mapping (checked against /proc/self/maps), is read-only, and keeps the model alive."""

import gc
import os
import struct
import json

import numpy as np
import pytest

from conftest import FIXTURES
from gemma4cpp.models import Gemma4Backbone


def mapping_of(address):
    """The /proc/self/maps entry (start, end, path) holding `address`."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return start, end, fields[5] if len(fields) > 5 else ""
    return None


def safetensors_tensor(path, suffix):
    """(values, byte offset in the file) of the tensor whose name ends with `suffix`, read independently."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k.endswith(suffix))
    info = header[name]
    begin, end = info["data_offsets"]
    assert info["dtype"] == "F32"
    values = np.frombuffer(data[8 + n + begin:8 + n + end], dtype="<f4").reshape(info["shape"])
    return values, 8 + n + begin


def test_embeddings_view_the_file_mapping(test_model):
    model = Gemma4Backbone.from_preset(test_model)
    embeddings = model.token_embedding.embeddings
    assert model.token_embedding.storage_dtype == "F32"
    assert embeddings.shape == (model.vocabulary_size, model.hidden_dim) and embeddings.dtype == np.float32
    assert not embeddings.flags.writeable and not embeddings.flags.owndata
    address = embeddings.__array_interface__["data"][0]
    assert address == model._core.token_embedding_address()
    # The address lies in a mapping of model.safetensors, at the tensor's offset in the file.
    start, end, path = mapping_of(address)
    assert os.path.realpath(path) == os.path.realpath(test_model / "model.safetensors")
    values, offset = safetensors_tensor(test_model / "model.safetensors", "embed_tokens.weight")
    assert address + embeddings.nbytes <= end
    np.testing.assert_array_equal(embeddings, values)
    # Two reads give views of the same memory.
    assert np.shares_memory(embeddings, model.token_embedding.embeddings)
    with pytest.raises(ValueError):
        embeddings[0, 0] = 1.0


def test_view_keeps_the_model_alive(test_model):
    model = Gemma4Backbone.from_preset(test_model)
    embeddings = model.token_embedding.embeddings
    expected = embeddings.copy()
    del model
    gc.collect()
    np.testing.assert_array_equal(embeddings, expected)  # still valid memory: the view holds the model


def test_random_float32_model_is_viewed_too():
    model = Gemma4Backbone(vocabulary_size=64, image_size=None, num_layers=1, num_query_heads=2,
                           num_key_value_heads=1, hidden_dim=8, intermediate_dim=16, head_dim=4, seed=3)
    a, b = model.token_embedding.embeddings, model.token_embedding.embeddings
    assert np.shares_memory(a, b) and a.__array_interface__["data"][0] == model._core.token_embedding_address()
    # token_embedding(ids) looks rows up, as KerasHub's Embedding layer does.
    np.testing.assert_array_equal(model.token_embedding(np.array([[3, 5]])), a[[[3, 5]]])


def test_bfloat16_storage_gives_a_float32_copy_and_a_raw_view():
    model = Gemma4Backbone.from_preset(FIXTURES / "text_all" / "keras_preset", dtype="bfloat16")
    assert model.token_embedding.storage_dtype == "BF16"
    raw = model.token_embedding.raw_embeddings
    assert raw.dtype == np.uint16 and raw.__array_interface__["data"][0] == model._core.token_embedding_address()
    values = model.token_embedding.embeddings
    assert values.dtype == np.float32 and not np.shares_memory(values, raw)
    reference = Gemma4Backbone.from_preset(FIXTURES / "text_all" / "keras_preset").token_embedding.embeddings
    # bfloat16 keeps float32's top 16 bits (rounded to nearest even): within 2^-8 relative.
    np.testing.assert_allclose(values, reference, rtol=2.0**-8, atol=1e-30)


def test_quantized_storage_has_only_the_raw_view(test_model):
    model = Gemma4Backbone.from_preset(test_model, quantize="q8_0")
    if model.token_embedding.storage_dtype != "Q8_0":
        pytest.skip("quantize-on-load keeps this embedding in " + model.token_embedding.storage_dtype)
    with pytest.raises(TypeError, match="Q8_0"):
        model.token_embedding.embeddings
    raw = model.token_embedding.raw_embeddings
    assert raw.dtype == np.uint8 and raw.shape[0] == model.vocabulary_size
