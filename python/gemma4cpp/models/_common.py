"""Pieces the model classes share: preset listings, from_preset keyword arguments, error translation."""

import json

from gemma4cpp import _core
from gemma4cpp import _arguments

# from_preset keywords that are load options of the engine rather than Gemma4Backbone arguments.
ENGINE_OPTIONS = ("seed", "quantize", "mmproj", "threads", "lora_adapters")


class classproperty:
    """A read-only property of the class itself (KerasHub's `Backbone.presets`)."""

    def __init__(self, getter):
        self._getter = getter

    def __get__(self, instance, owner):
        return self._getter(owner)


def builtin_presets():
    """KerasHub's preset dict: name -> {"metadata": {...}, "kaggle_handle": ..., "hf_handle": ...}."""
    out = {}
    for entry in _core.builtin_presets():
        out[entry["name"]] = {
            "metadata": {"description": entry["description"], "params": entry["params"], "path": "gemma4"},
            "kaggle_handle": entry["kaggle_handle"],
            "hf_handle": "hf://" + entry["hf_repo"] if entry["hf_repo"] else "",
        }
    return out


def load_options(load_weights, kwargs):
    """from_preset(**kwargs) -> the engine's load options: Gemma4Backbone arguments become config overrides
    (checked as the constructor checks them), `dtype` the storage type, the ENGINE_OPTIONS pass through."""
    options = {"load_weights": bool(load_weights)}
    overrides = {}
    for name, value in kwargs.items():
        if name in ENGINE_OPTIONS:
            options[name] = list(value) if name == "lora_adapters" else value
        elif name == "dtype":
            options["dtype"] = _arguments.check("dtype", value) or ""
        elif name in ("vision_encoder", "audio_encoder"):
            if value is not None:
                raise ValueError(f"`{name}`: from_preset can only drop an encoder ({name}=None)")
            overrides[name] = "null"
        elif name in _arguments.ALL:
            overrides[name] = json.dumps(_arguments.check(name, value))
        else:
            overrides[name] = json.dumps(value)  # the library names the unknown argument and lists the known ones
    options["overrides"] = overrides
    return options


def config_errors_as_value_errors(call, *args):
    """Runs call(*args); a library error about Gemma4Backbone arguments becomes a ValueError."""
    try:
        return call(*args)
    except _core.Error as error:
        message = str(error)
        if "Gemma4Backbone" in message or "preset overrides" in message:
            raise ValueError(message) from None
        raise
