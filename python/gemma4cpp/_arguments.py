"""Gemma4Backbone's constructor arguments: names, defaults and the checks each one gets on its own.

The names and defaults are KerasHub's (keras_hub/src/models/gemma4/gemma4_backbone.py). Rules that relate several
arguments (num_query_heads a multiple of num_key_value_heads, an even head_dim, KV-shared layers with a donor, ...)
are checked by the library's config validation, whose messages name the arguments too. Every error is a
ValueError naming the argument.
"""

import numbers

REQUIRED = ("vocabulary_size", "image_size", "num_layers", "num_query_heads", "num_key_value_heads",
            "hidden_dim", "intermediate_dim", "head_dim")

# name -> (default, rule); the order is KerasHub's.
OPTIONAL = {
    "query_head_dim_normalize": (True, "bool"),
    "attention_logit_soft_cap": (None, "optional positive number"),
    "final_logit_soft_cap": (None, "optional positive number"),
    "use_sliding_window_attention": (True, "bool"),
    "sliding_window_size": (512, "positive int"),
    "sliding_window_pattern": (6, "positive int"),
    "layer_types": (None, "layer types"),
    "global_head_dim": (None, "optional positive int"),
    "local_rope_scaling_factor": (1.0, "positive number"),
    "global_rope_scaling_factor": (1.0, "positive number"),
    "vision_encoder": (None, "encoder"),
    "audio_encoder": (None, "encoder"),
    "num_audio_tokens_per_clip": (None, "optional positive int"),
    "layer_norm_epsilon": (1e-6, "positive number"),
    "use_bidirectional_attention": (False, "bool"),
    "use_vision_bidirectional_attention": (False, "bool"),
    "dropout": (0, "dropout"),
    "is_embedding_model": (False, "bool"),
    "pooling_intermediate_dim": (None, "optional positive int"),
    "embedding_dim": (None, "optional positive int"),
    "num_kv_shared_layers": (0, "non-negative int"),
    "num_global_key_value_heads": (None, "optional positive int"),
    "hidden_size_per_layer_input": (0, "non-negative int"),
    "vocab_size_per_layer_input": (None, "optional positive int"),
    "global_rope_wavelength": (None, "optional positive number"),
    "local_rope_wavelength": (None, "optional positive number"),
    "global_rope_partial_rotary_factor": (1.0, "fraction"),
    "use_double_wide_mlp": (False, "bool"),
    "enable_moe_block": (False, "bool"),
    "num_experts": (None, "optional positive int"),
    "expert_intermediate_dim": (None, "optional positive int"),
    "num_experts_per_token": (8, "positive int"),
    "dtype": (None, "dtype"),
}

REQUIRED_RULES = {name: "positive int" for name in REQUIRED}
REQUIRED_RULES["image_size"] = "optional positive int"

ALL = REQUIRED + tuple(OPTIONAL)
DTYPES = ("float32", "bfloat16")
LAYER_TYPES = ("full_attention", "sliding_attention")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bad(name, what, value):
    return ValueError(f"`{name}` must be {what}, got {value!r}")


def check(name, value):
    """Checks one argument; returns it as a plain Python value (what the config JSON holds)."""
    rule = REQUIRED_RULES.get(name) or OPTIONAL[name][1]
    optional = rule.startswith("optional ")
    if optional:
        if value is None:
            return None
        rule = rule[len("optional "):]
    if rule == "bool":
        if not isinstance(value, (bool,)) and type(value).__name__ != "bool_":
            raise _bad(name, "True or False", value)
        return bool(value)
    if rule in ("positive int", "non-negative int"):
        if not _is_int(value):
            raise _bad(name, "an integer" + (" or None" if optional else ""), value)
        if rule == "positive int" and value <= 0 or rule == "non-negative int" and value < 0:
            raise _bad(name, ("a positive" if rule == "positive int" else "a non-negative") + " integer", value)
        return int(value)
    if rule == "positive number":
        if not _is_number(value) or not value > 0:
            raise _bad(name, "a positive number" + (" or None" if optional else ""), value)
        return float(value)
    if rule == "fraction":
        if not _is_number(value) or not 0 < value <= 1:
            raise _bad(name, "a number in (0, 1]", value)
        return float(value)
    if rule == "dropout":
        if not _is_number(value) or not 0 <= value < 1:
            raise _bad(name, "a number in [0, 1)", value)
        return float(value)
    if rule == "layer types":
        if value is None:
            return None
        if isinstance(value, str) or not all(isinstance(t, str) and t in LAYER_TYPES for t in value):
            raise _bad(name, "None or a list of 'full_attention' / 'sliding_attention'", value)
        return list(value)
    if rule == "encoder":
        if value is not None:
            raise ValueError(
                f"`{name}`: gemma4.cpp builds randomly initialised backbones without encoders; pass None, or load "
                "a preset that has one with Gemma4Backbone.from_preset()")
        return None
    if rule == "dtype":
        name_of = getattr(value, "name", value)  # a keras DTypePolicy has .name
        if name_of is None or name_of in DTYPES:
            return name_of
        raise _bad(name, "None, 'float32' or 'bfloat16'", value)
    raise AssertionError(rule)


def check_all(arguments):
    """Checks every argument of the dict; returns the config object of KerasHub's config.json."""
    return {name: check(name, value) for name, value in arguments.items()}
