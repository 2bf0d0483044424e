"""Gemma4Backbone's constructor: every argument of the seed API with KerasHub's name and default, and each
one's validation (a ValueError naming the argument)."""

import inspect

import numpy as np
import pytest

from conftest import FIXTURES
from gemma4cpp.models import Gemma4Backbone

# The seed's signature (keras_hub.models.Gemma4Backbone), copied from its API page: required arguments, then
# every optional one with its default.
SEED_REQUIRED = ["vocabulary_size", "image_size", "num_layers", "num_query_heads", "num_key_value_heads",
                 "hidden_dim", "intermediate_dim", "head_dim"]
SEED_DEFAULTS = {
    "query_head_dim_normalize": True, "attention_logit_soft_cap": None, "final_logit_soft_cap": None,
    "use_sliding_window_attention": True, "sliding_window_size": 512, "sliding_window_pattern": 6,
    "global_head_dim": None, "local_rope_scaling_factor": 1.0, "global_rope_scaling_factor": 1.0,
    "vision_encoder": None, "audio_encoder": None, "num_audio_tokens_per_clip": None, "layer_norm_epsilon": 1e-06,
    "use_bidirectional_attention": False, "use_vision_bidirectional_attention": False, "dropout": 0,
    "is_embedding_model": False, "pooling_intermediate_dim": None, "embedding_dim": None, "num_kv_shared_layers": 0,
    "num_global_key_value_heads": None, "hidden_size_per_layer_input": 0, "vocab_size_per_layer_input": None,
    "global_rope_wavelength": None, "local_rope_wavelength": None, "global_rope_partial_rotary_factor": 1.0,
    "use_double_wide_mlp": False, "enable_moe_block": False, "num_experts": None, "expert_intermediate_dim": None,
    "num_experts_per_token": 8, "dtype": None,
}

SMALL = dict(vocabulary_size=64, image_size=None, num_layers=4, num_query_heads=4, num_key_value_heads=2,
             hidden_dim=16, intermediate_dim=32, head_dim=8, seed=0)


def make(**changes):
    return Gemma4Backbone(**{**SMALL, **changes})


def test_signature_matches_the_seed():
    parameters = inspect.signature(Gemma4Backbone.__init__).parameters
    required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty
                and p.kind is p.POSITIONAL_OR_KEYWORD and n != "self"]
    assert required == SEED_REQUIRED
    for name, default in SEED_DEFAULTS.items():
        assert name in parameters, name
        assert parameters[name].default == default and type(parameters[name].default) is type(default), name
    assert list(parameters)[-1] == "kwargs"


def test_missing_required_argument_is_a_type_error():
    arguments = dict(SMALL)
    del arguments["head_dim"]
    with pytest.raises(TypeError, match="head_dim"):
        Gemma4Backbone(**arguments)


# (argument, bad value): each must be refused with a ValueError naming the argument. Values that pass the
# per-argument check but break a rule between arguments are refused by the library's config validation.
BAD = [
    ("vocabulary_size", 0), ("vocabulary_size", -3), ("vocabulary_size", 1.5), ("vocabulary_size", "64"),
    ("vocabulary_size", True), ("image_size", 0), ("image_size", "big"), ("num_layers", 0), ("num_layers", None),
    ("num_query_heads", 0), ("num_query_heads", 3), ("num_key_value_heads", 0), ("num_key_value_heads", 3),
    ("hidden_dim", -16), ("intermediate_dim", 0), ("head_dim", 0), ("head_dim", 7),
    ("query_head_dim_normalize", "yes"), ("attention_logit_soft_cap", -1.0), ("final_logit_soft_cap", 0),
    ("use_sliding_window_attention", 1), ("sliding_window_size", 0), ("sliding_window_pattern", 0),
    ("layer_types", ["full"]), ("layer_types", "full_attention"), ("layer_types", ["full_attention"] * 3),
    ("global_head_dim", 0), ("global_head_dim", 7), ("local_rope_scaling_factor", 0),
    ("global_rope_scaling_factor", -1.0), ("vision_encoder", object()), ("audio_encoder", "usm"),
    ("num_audio_tokens_per_clip", 0), ("layer_norm_epsilon", 0), ("use_bidirectional_attention", "no"),
    ("use_vision_bidirectional_attention", None), ("dropout", 1.0), ("dropout", -0.1),
    ("is_embedding_model", "true"), ("pooling_intermediate_dim", 0), ("embedding_dim", -1),
    ("num_kv_shared_layers", -1), ("num_kv_shared_layers", 4), ("num_global_key_value_heads", 0),
    ("num_global_key_value_heads", 3), ("hidden_size_per_layer_input", -1), ("vocab_size_per_layer_input", 0),
    ("global_rope_wavelength", 0), ("local_rope_wavelength", -5.0), ("global_rope_partial_rotary_factor", 0),
    ("global_rope_partial_rotary_factor", 1.5), ("use_double_wide_mlp", 2), ("enable_moe_block", "x"),
    ("num_experts", 0), ("expert_intermediate_dim", 0), ("num_experts_per_token", 0), ("dtype", "int8"),
]


@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_bad_argument_is_a_value_error_naming_it(name, value):
    with pytest.raises(ValueError, match=name):
        make(**{name: value})


@pytest.mark.parametrize("changes,named", [
    ({"enable_moe_block": True}, "num_experts"),
    ({"enable_moe_block": True, "num_experts": 4}, "expert_intermediate_dim"),
    ({"enable_moe_block": True, "num_experts": 4, "expert_intermediate_dim": 8, "num_experts_per_token": 5},
     "num_experts_per_token"),
    ({"is_embedding_model": True}, "embedding_dim"),
    ({"is_embedding_model": True, "embedding_dim": 8}, "pooling_intermediate_dim"),
    # Four layers, pattern 6: all sliding, so a shared layer has a donor; all-global layer types give none.
    ({"num_kv_shared_layers": 1, "layer_types": ["full_attention", "sliding_attention", "sliding_attention",
                                                  "full_attention"], "sliding_window_pattern": 1}, None),
])
def test_rules_between_arguments(changes, named):
    if named is None:  # a valid combination: it builds
        make(**changes)
        return
    with pytest.raises(ValueError, match=named):
        make(**changes)


def test_valid_values_are_kept_and_reported_by_get_config():
    model = make(final_logit_soft_cap=30, sliding_window_size=4, layer_norm_epsilon=1e-5, dtype="float32",
                 num_experts_per_token=np.int64(2), use_bidirectional_attention=np.bool_(False))
    config = model.get_config()
    assert config["final_logit_soft_cap"] == 30.0 and model.final_logit_soft_cap == 30.0
    assert config["sliding_window_size"] == 4 and config["layer_norm_epsilon"] == 1e-5
    assert config["num_experts_per_token"] == 2 and config["dtype"] == "float32"
    assert set(SEED_REQUIRED) | set(SEED_DEFAULTS) <= set(config)
    again = Gemma4Backbone.from_config({**config, "seed": 0})
    assert again.get_config() == config


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="hidden_size"):
        make(hidden_size=16)


def test_from_preset_overrides_are_validated_like_the_constructor():
    preset = FIXTURES / "text_all" / "keras_preset"
    with pytest.raises(ValueError, match="sliding_window_size"):
        Gemma4Backbone.from_preset(preset, sliding_window_size=0)
    with pytest.raises(ValueError, match="no_such_argument"):
        Gemma4Backbone.from_preset(preset, no_such_argument=1)
    model = Gemma4Backbone.from_preset(preset, load_weights=False, num_layers=6, num_kv_shared_layers=1, seed=1)
    assert model.num_layers == 6 and model.get_config()["num_kv_shared_layers"] == 1
