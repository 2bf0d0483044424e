"""Gemma4CausalLM: KerasHub's keras_hub.models.Gemma4CausalLM.generate on gemma4.cpp's engine (KV cache,
sampling and decoding in C++, the GIL released while it runs, Ctrl-C honoured after each token)."""

import os

import numpy as np

from gemma4cpp import _core
from gemma4cpp import samplers as _samplers
from gemma4cpp.models import _common
from gemma4cpp.models.gemma4_backbone import Gemma4Backbone
from gemma4cpp.models.gemma4_tokenizer import Gemma4Tokenizer

_NO_STOP = [-1]  # an id no token has: "stop on nothing" (the engine reads an empty list as "its defaults")


class _Preprocessor:
    """What generate needs of KerasHub's Gemma4CausalLMPreprocessor: the tokenizer, the default
    sequence_length (KerasHub's 1024) and add_start_token."""

    def __init__(self, tokenizer, sequence_length=1024, add_start_token=True):
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.add_start_token = add_start_token


class Gemma4CausalLM:
    """An end-to-end Gemma 4 model for causal language modelling (generation).

    Load it with `Gemma4CausalLM.from_preset(...)`. `generate(prompt_or_list, max_length=None,
    stop_token_ids="auto", strip_prompt=False)` returns the prompt followed by its completion (only the
    completion with strip_prompt=True), for one string or a list; max_length counts prompt and completion
    tokens, as in KerasHub. The sampler is set by `compile(sampler=...)` (default "greedy") or per call with
    `sampler=`. `generate_stream(prompt, ...)` yields the completion's text piece by piece.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("gemma4cpp's Gemma4CausalLM is made by Gemma4CausalLM.from_preset(...): the engine loads "
                        "the backbone, tokenizer and KV cache together")

    @classmethod
    def from_preset(cls, preset, load_weights=True, max_context=4096, **kwargs):
        """Loads a preset (the names Gemma4Backbone.from_preset takes) with its tokenizer. max_context: the
        positions the KV cache holds (prompt plus generated tokens). kwargs as Gemma4Backbone.from_preset,
        plus `chat_template_file`."""
        self = cls.__new__(cls)
        self._preset = os.fspath(preset)
        if isinstance(max_context, bool) or not isinstance(max_context, int) or max_context <= 0:
            raise ValueError(f"`max_context` must be a positive integer, got {max_context!r}")
        chat_template_file = kwargs.pop("chat_template_file", None)
        options = _common.load_options(load_weights, kwargs)
        options["max_context"] = max_context
        if chat_template_file is not None:
            options["chat_template_file"] = os.fspath(chat_template_file)
        self.max_context = max_context
        self.backbone = None
        self._load(options)
        self.sampler = _samplers.GreedySampler()
        return self

    def _load(self, options):
        core = _common.config_errors_as_value_errors(_core.CausalLM.load, self._preset, options)
        self._core = core
        self._options = options
        source = ("preset", self._preset, options)
        if self.backbone is None:
            self.backbone = Gemma4Backbone._wrap(core.backbone(), source, owner=self)
        else:  # keep the user's Gemma4Backbone object: point it at the new engine
            name = self.backbone.name
            self.backbone._attach(core.backbone(), source, name=name, owner=self)
        tokenizer = core.tokenizer()
        self.tokenizer = Gemma4Tokenizer._wrap(tokenizer) if tokenizer is not None else None
        self.preprocessor = _Preprocessor(self.tokenizer, add_start_token=core.adds_bos()) if self.tokenizer else None

    def _reload(self, options):
        """Rebuilds the engine with new load options (Gemma4Backbone.load_lora_weights)."""
        options = dict(options)
        options["max_context"] = self.max_context
        if "chat_template_file" in self._options:
            options["chat_template_file"] = self._options["chat_template_file"]
        self._load(options)

    @_common.classproperty
    def presets(cls):
        return _common.builtin_presets()

    def compile(self, optimizer="auto", loss="auto", *, weighted_metrics="auto", sampler="greedy", **kwargs):
        """KerasHub's compile: here only `sampler` matters (a name or a gemma4cpp.samplers object)."""
        self.sampler = _samplers.get(sampler)

    # --- generation ---------------------------------------------------------------------------------------

    def _stop_ids(self, stop_token_ids):
        if stop_token_ids is None:
            return _NO_STOP
        if isinstance(stop_token_ids, str):
            if stop_token_ids != "auto":
                raise ValueError(f'`stop_token_ids` must be "auto", None or a list of ids, got {stop_token_ids!r}')
            if self.tokenizer is None:
                raise ValueError('A `preprocessor` must be attached to the model if `stop_token_ids="auto"`: this '
                                 "model has no tokenizer; pass stop_token_ids=None or a tuple of ids")
            # KerasHub's Gemma4CausalLM: <eos> and <turn|>.
            ids = [self.tokenizer.end_token_id, self.tokenizer._core.piece_to_id("<turn|>")]
            ids = [i for i in ids if i is not None and i >= 0]
            return ids or _NO_STOP
        ids = list(stop_token_ids)
        vocabulary = self.backbone.vocabulary_size
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < vocabulary:
                raise ValueError(f"`stop_token_ids` must hold token ids in [0, {vocabulary}), got {i!r}")
        return [int(i) for i in ids] or _NO_STOP

    def _prompt_ids(self, prompt):
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError("this model has no tokenizer: give the prompt as a list of token ids")
            ids = [int(i) for i in self.tokenizer.tokenize(prompt)]
            if self.preprocessor.add_start_token and self.tokenizer.start_token_id is not None:
                ids = [self.tokenizer.start_token_id] + ids
            return ids
        array = np.asarray(prompt)
        if array.ndim == 1 and array.size and array.dtype.kind in "iu":
            return [int(i) for i in array]
        raise ValueError(f"a prompt must be a string (or a 1-D array of token ids), got {type(prompt).__name__}")

    def _settings(self, sampler):
        sampler = self.sampler if sampler is None else _samplers.get(sampler)
        if sampler is None:
            sampler = _samplers.GreedySampler()
        return sampler.engine_settings()

    def _max_new_tokens(self, prompt_ids, max_length):
        if max_length is None:
            max_length = self.preprocessor.sequence_length if self.preprocessor else 1024
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length <= 0:
            raise ValueError(f"`max_length` must be a positive integer, got {max_length!r}")
        if max_length > self.max_context:
            raise ValueError(f"`max_length` is {max_length} but the KV cache holds {self.max_context} positions; "
                             "load with Gemma4CausalLM.from_preset(..., max_context=N)")
        if len(prompt_ids) > max_length:
            raise ValueError(f"the prompt has {len(prompt_ids)} tokens, more than `max_length` = {max_length}")
        return int(max_length) - len(prompt_ids)

    def _text(self, prompt_ids, generated, strip_prompt, stop_ids):
        generated = [int(t) for t in generated]
        if generated and generated[-1] in stop_ids:
            generated = generated[:-1]
        ids = generated if strip_prompt else list(prompt_ids) + generated
        if self.tokenizer is None:
            return np.asarray(ids, dtype=np.int32)
        return self.tokenizer._core.decode(ids, True)  # special tokens left out, as KerasHub's postprocessor

    def _forget_prefix_if_lora(self):
        """The engine reuses the keys and values of a prompt prefix it has run before; with live LoRA adapters
        (enable_lora) those may be stale, since the factors can be written at any time, so the cache starts over."""
        if self.backbone._core.lora_enabled():
            self._core.reset()

    def _generate_one(self, prompt, max_length, stop_token_ids, strip_prompt, sampler):
        prompt_ids = self._prompt_ids(prompt)
        stop_ids = self._stop_ids(stop_token_ids)
        max_new = self._max_new_tokens(prompt_ids, max_length)
        if max_new == 0:
            return self._text(prompt_ids, [], strip_prompt, stop_ids)
        self._forget_prefix_if_lora()
        result = self._core.generate(prompt_ids, max_new, stop_ids, **self._settings(sampler))
        self.last_generation = result
        return self._text(prompt_ids, result["token_ids"], strip_prompt, stop_ids)

    def generate(self, inputs, max_length=None, stop_token_ids="auto", strip_prompt=False, sampler=None):
        """Text for a prompt string, or a list of texts for a list of prompts (run one after another).
        A prompt may also be a 1-D array of token ids (then the output is text too, if there is a tokenizer)."""
        if isinstance(inputs, dict):
            extra = sorted(set(inputs) - {"prompts"})
            if extra:
                raise ValueError(f"generate: inputs {', '.join(extra)} are not supported by gemma4cpp's Python "
                                 "package yet (the CLI's generate --image/--audio is)")
            inputs = inputs["prompts"]
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(p, str) for p in inputs):
            return [self._generate_one(p, max_length, stop_token_ids, strip_prompt, sampler) for p in inputs]
        return self._generate_one(inputs, max_length, stop_token_ids, strip_prompt, sampler)

    def generate_stream(self, prompt, max_length=None, stop_token_ids="auto", sampler=None):
        """Yields the completion of one prompt as text pieces while it is generated (whole UTF-8 characters,
        special tokens left out). Breaking out of the loop (or closing the iterator) stops generation."""
        prompt_ids = self._prompt_ids(prompt)
        stop_ids = self._stop_ids(stop_token_ids)
        max_new = self._max_new_tokens(prompt_ids, max_length)
        if max_new == 0:
            return
        self._forget_prefix_if_lora()
        stream = self._core.stream(prompt_ids, max_new, stop_ids, **self._settings(sampler))
        try:
            for _token, piece in stream:
                if piece:
                    yield piece
            self.last_generation = stream.result()
        finally:
            stream.close()

    def __repr__(self):
        return f"<Gemma4CausalLM preset={self._preset!r} backbone={self.backbone!r}>"
