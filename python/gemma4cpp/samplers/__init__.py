"""Samplers with KerasHub's names and defaults (keras_hub/src/samplers): pass one, or its name, to
Gemma4CausalLM.compile(sampler=...) or generate(..., sampler=...).

gemma4.cpp samples on its own side; each sampler here is the description of one setting of the engine's
sampler (temperature, top-k, top-p, seed). Beam, contrastive and speculative search are not available.
"""

import random as _random


class Sampler:
    """Base class (KerasHub's keras_hub.samplers.Sampler): `temperature` divides the logits."""

    def __init__(self, temperature=1.0):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ValueError(f"`temperature` must be a positive number, got {temperature!r}")
        self.temperature = float(temperature)

    def get_config(self):
        return {"temperature": self.temperature}

    def _seed(self):
        seed = getattr(self, "seed", None)
        return _random.SystemRandom().randrange(2**63) if seed is None else seed

    def engine_settings(self):
        """The engine's sampling settings for this sampler."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"`seed` must be None or a non-negative integer, got {seed!r}")
    return seed


class GreedySampler(Sampler):
    """Always the most likely token."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def engine_settings(self):
        return {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "seed": 0}


class RandomSampler(Sampler):
    """Samples from the whole distribution."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

    def engine_settings(self):
        return {"temperature": self.temperature, "top_k": 0, "top_p": 1.0, "seed": self._seed()}


class TopKSampler(Sampler):
    """Samples from the k most likely tokens."""

    def __init__(self, k=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise ValueError(f"`k` must be a positive integer, got {k!r}")
        self.k = k
        self.seed = _check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "k": self.k, "seed": self.seed}

    def engine_settings(self):
        return {"temperature": self.temperature, "top_k": self.k, "top_p": 1.0, "seed": self._seed()}


class TopPSampler(Sampler):
    """Samples from the smallest set of most likely tokens whose probability reaches p (within the k most
    likely when k is given)."""

    def __init__(self, p=0.1, k=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ValueError(f"`p` must be a number in (0, 1], got {p!r}")
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
            raise ValueError(f"`k` must be None or a positive integer, got {k!r}")
        self.p = float(p)
        self.k = k
        self.seed = _check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "k": self.k, "seed": self.seed}

    def engine_settings(self):
        return {"temperature": self.temperature, "top_k": self.k or 0, "top_p": self.p, "seed": self._seed()}


_BY_NAME = {"greedy": GreedySampler, "random": RandomSampler, "top_k": TopKSampler, "top_p": TopPSampler}
_UNAVAILABLE = ("beam", "contrastive", "speculative")


def get(identifier):
    """KerasHub's keras_hub.samplers.get: a lowercase name ("greedy", "top_k", "top_p", "random"), a
    {"class_name", "config"} dict, a Sampler (returned as is) or None."""
    if identifier is None or isinstance(identifier, Sampler):
        return identifier
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", "")).split(">")[-1]
        classes = {cls.__name__: cls for cls in _BY_NAME.values()}
        if name not in classes:
            raise ValueError(f"Could not interpret sampler identifier: {identifier!r}")
        return classes[name](**identifier.get("config", {}))
    if isinstance(identifier, str):
        if not identifier.islower():
            raise KeyError("`gemma4cpp.samplers.get()` must take a lowercase string identifier, but received: "
                           f"{identifier}.")
        if identifier in _UNAVAILABLE:
            raise ValueError(f"sampler '{identifier}' is not available in gemma4.cpp; use one of "
                             f"{', '.join(sorted(_BY_NAME))}")
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret sampler identifier: {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[identifier]()
    raise ValueError(f"Could not interpret sampler identifier: {identifier!r}")


def serialize(sampler):
    return {"class_name": type(sampler).__name__, "config": sampler.get_config()}


def deserialize(config):
    return get(config)


__all__ = ["Sampler", "GreedySampler", "RandomSampler", "TopKSampler", "TopPSampler", "get", "serialize",
           "deserialize"]
