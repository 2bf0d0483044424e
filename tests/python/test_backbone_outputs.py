"""Gemma4Backbone outputs: equal to the CLI's `gemma4 forward` on the same weights, and to KerasHub's own
outputs (tests/data/kerashub_fixtures), including the embedding model's dict and images and audio."""

import numpy as np
import pytest

from conftest import FIXTURES, assert_close, load_fixture, run_cli
from gemma4cpp.models import Gemma4Backbone

TOKENS = [2, 17, 300, 41, 9, 77, 5, 230]


def test_sequence_output_and_logits_equal_the_cli(gemma4_cli, test_model, tmp_path):
    run_cli(gemma4_cli, "forward", "--model", test_model, "--tokens", ",".join(map(str, TOKENS)),
            "--dump-logits", tmp_path / "logits.npy", "--dump-hidden", tmp_path / "hidden.npy")
    model = Gemma4Backbone.from_preset(test_model)
    inputs = {"token_ids": np.array([TOKENS], dtype="int32"), "padding_mask": np.ones((1, len(TOKENS)), "int32")}
    hidden = model(inputs)
    assert hidden.shape == (1, len(TOKENS), model.hidden_dim) and hidden.dtype == np.float32
    # Same engine, same weights, same inputs: the numbers are identical.
    np.testing.assert_array_equal(hidden[0], np.load(tmp_path / "hidden.npy"))
    outputs = model.forward(inputs, return_logits=True)
    np.testing.assert_array_equal(outputs["logits"][0], np.load(tmp_path / "logits.npy"))
    # KerasHub's way to logits: the tied embedding in reverse (with the final soft-cap), here in NumPy.
    logits = model.token_embedding(hidden, reverse=True)
    assert_close(logits[0], np.load(tmp_path / "logits.npy"), "token_embedding(reverse=True)")


def test_batches_with_padding_equal_the_cli(gemma4_cli, test_model, tmp_path):
    ids = np.array([TOKENS, TOKENS[:5] + [0, 0, 0]], dtype="int32")
    mask = (ids != 0).astype("int32")
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "mask.npy", mask)
    run_cli(gemma4_cli, "forward", "--model", test_model, "--tokens-npy", tmp_path / "ids.npy",
            "--padding-mask-npy", tmp_path / "mask.npy", "--dump-hidden", tmp_path / "hidden.npy")
    hidden = Gemma4Backbone.from_preset(test_model)({"token_ids": ids, "padding_mask": mask})
    np.testing.assert_array_equal(hidden, np.load(tmp_path / "hidden.npy"))


@pytest.mark.parametrize("name", ["text_all", "vision", "audio", "multimodal_all"])
@pytest.mark.parametrize("layout", ["keras_preset", "hf"])
def test_outputs_equal_kerashub(name, layout):
    folder = FIXTURES / name / "keras_preset" if layout == "keras_preset" else FIXTURES / name
    model = Gemma4Backbone.from_preset(folder)
    inputs, want = load_fixture(name, "inputs"), load_fixture(name, "outputs")
    got = model(inputs)
    assert isinstance(got, np.ndarray)
    assert_close(got, want["sequence_output"], f"{name} sequence_output")
    full = model.forward(inputs, return_logits=True, return_hidden_states=True)
    assert_close(full["logits"], want["logits"], f"{name} logits")
    assert_close(full["hidden_states"], want["hidden_states"], f"{name} hidden_states")


def test_embedding_model_returns_kerashubs_dict():
    model = Gemma4Backbone.from_preset(FIXTURES / "embedding" / "keras_preset")
    assert model.is_embedding_model
    got = model(load_fixture("embedding", "inputs"))
    want = load_fixture("embedding", "outputs")
    assert isinstance(got, dict) and set(got) == {"sequence_output", "pooled_output"}
    assert_close(got["sequence_output"], want["sequence_output"], "embedding sequence_output")
    assert_close(got["pooled_output"], want["pooled_output"], "embedding pooled_output")
    np.testing.assert_allclose(np.linalg.norm(got["pooled_output"], axis=-1), 1.0, rtol=1e-5)


def test_count_params_matches_kerashubs_count():
    import json
    for name in ["text_all", "vision", "audio", "multimodal_all", "embedding"]:
        manifest = json.loads((FIXTURES / name / "manifest.json").read_text())
        count = manifest["param_count"]  # KerasHub's count_params()
        assert Gemma4Backbone.from_preset(FIXTURES / name / "keras_preset").count_params() == count, name


def test_outputs_own_their_memory_and_inputs_are_checked():
    model = Gemma4Backbone.from_preset(FIXTURES / "text_all" / "keras_preset")
    inputs = load_fixture("text_all", "inputs")
    out = model(inputs)
    assert out.flags.c_contiguous and out.base is not None  # the engine's buffer, handed over without a copy
    with pytest.raises(ValueError, match="padding_mask"):
        model({**inputs, "padding_mask": inputs["padding_mask"][:, :3]})
    with pytest.raises(ValueError, match="token_ids"):
        model({"token_ids": inputs["token_ids"].astype("float32")})
    with pytest.raises(ValueError, match="pixel_values"):
        model({**inputs, "pixel_values": np.zeros((2, 1, 4, 48), "float32")})
    with pytest.raises(ValueError, match="images_"):
        model({**inputs, "images_": inputs["token_ids"]})
    with pytest.raises(ValueError, match="dict"):
        model(inputs["token_ids"])


def test_bad_multimodal_shapes_are_value_errors():
    model = Gemma4Backbone.from_preset(FIXTURES / "multimodal_all" / "keras_preset")
    inputs = load_fixture("multimodal_all", "inputs")
    for key, bad in [("pixel_values", inputs["pixel_values"][..., :5]),
                     ("pixel_position_ids", inputs["pixel_position_ids"][:, :, :3]),
                     ("vision_indices", inputs["vision_indices"][:, :1]),
                     ("audio_mel", inputs["audio_mel"][..., :3]),
                     ("audio_mel_mask", inputs["audio_mel_mask"][:, :, :2])]:
        with pytest.raises(ValueError, match=key):
            model({**inputs, key: bad})
