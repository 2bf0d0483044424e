"""Gemma4Tokenizer: KerasHub's keras_hub.models.Gemma4Tokenizer on gemma4.cpp's tokenizers (Hugging Face
tokenizer.json BPE or SentencePiece; the same ids as Gemma's own tokenizer)."""

import os

import numpy as np

from gemma4cpp import _core
from gemma4cpp.models import _common


class Gemma4Tokenizer:
    """tokenize(str) -> int32 ids (a list of arrays for a list of strings); detokenize(ids) -> str.

    As KerasHub's SentencePiece tokenizer: tokenize never adds <bos> (the preprocessor does), and detokenize
    renders every token except the control tokens <pad>, <bos> and <eos>.
    """

    def __init__(self, proto=None, **kwargs):
        kwargs.pop("name", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Gemma4Tokenizer got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        if proto is None:
            raise ValueError("`proto` must be the path of a tokenizer file (vocabulary.spm, tokenizer.model, "
                             "tokenizer.json) or a folder holding one; or use Gemma4Tokenizer.from_preset()")
        self._attach(_core.Tokenizer.load(os.fspath(proto)))

    def _attach(self, core):
        self._core = core
        special = core.special_ids()
        self.start_token_id = special["bos"] if special["bos"] >= 0 else None
        self.end_token_id = special["eos"] if special["eos"] >= 0 else None
        self.pad_token_id = special["pad"] if special["pad"] >= 0 else None
        self.start_token = self._piece(self.start_token_id)
        self.end_token = self._piece(self.end_token_id)
        self.pad_token = self._piece(self.pad_token_id)
        self._control = {i for i in (self.start_token_id, self.end_token_id, self.pad_token_id) if i is not None}
        self.special_token_ids = sorted(i for i in range(core.vocab_size()) if core.is_special(i))

    def _piece(self, token_id):
        return None if token_id is None else self._core.token_to_piece(token_id)

    @classmethod
    def _wrap(cls, core):
        tokenizer = cls.__new__(cls)
        tokenizer._attach(core)
        return tokenizer

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """The tokenizer of a preset (any name Gemma4Backbone.from_preset takes); no weights are read."""
        if kwargs:
            raise TypeError(f"Gemma4Tokenizer.from_preset got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        return cls._wrap(_core.Tokenizer.for_model(os.fspath(preset)))

    @_common.classproperty
    def presets(cls):
        return _common.builtin_presets()

    def vocabulary_size(self):
        return self._core.vocab_size()

    def get_vocabulary(self):
        return [self._core.token_to_piece(i) for i in range(self._core.vocab_size())]

    def id_to_token(self, id):
        if isinstance(id, bool) or not isinstance(id, (int, np.integer)) or not 0 <= id < self._core.vocab_size():
            raise ValueError(f"`id` must be an integer in [0, {self._core.vocab_size()}), got {id!r}")
        return self._core.token_to_piece(int(id))

    def token_to_id(self, token):
        token_id = self._core.piece_to_id(token)
        if token_id < 0:
            raise ValueError(f"`token` {token!r} is not in the vocabulary")
        return token_id

    def tokenize(self, inputs):
        if isinstance(inputs, str):
            return self._core.encode(inputs)
        if isinstance(inputs, (list, tuple)) and all(isinstance(x, str) for x in inputs):
            return [self._core.encode(x) for x in inputs]
        raise ValueError(f"tokenize takes a string or a list of strings, got {type(inputs).__name__}")

    __call__ = tokenize

    def _decode(self, ids):
        ids = [int(i) for i in ids if int(i) not in self._control]
        return self._core.decode(ids, False)

    def detokenize(self, inputs):
        if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            return [self._decode(row) for row in inputs]
        if isinstance(inputs, (list, tuple)) and inputs and not np.isscalar(inputs[0]):
            return [self._decode(row) for row in inputs]
        array = np.asarray(inputs)
        if array.ndim > 1 or array.dtype.kind not in "iu" and array.size:
            raise ValueError("detokenize takes a sequence of integer ids or a batch of them")
        return self._decode(array.reshape(-1))
