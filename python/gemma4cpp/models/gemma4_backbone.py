"""Gemma4Backbone: KerasHub's keras_hub.models.Gemma4Backbone on gemma4.cpp's C++ engine."""

import json
import os
import random

import numpy as np

from gemma4cpp import _arguments
from gemma4cpp import _core
from gemma4cpp.models import _common

_INT_INPUTS = ("token_ids", "padding_mask", "position_ids", "pixel_position_ids", "vision_indices", "vision_mask",
               "audio_mel_mask", "audio_indices", "audio_mask")
_FLOAT_INPUTS = ("pixel_values", "audio_mel")


def _bf16_to_float32(bits):
    """bfloat16 bit patterns (uint16) -> float32 values (exact: bfloat16 is float32's top half)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


class TokenEmbedding:
    """KerasHub's ReversibleEmbedding `token_embedding` (tied weights): ids -> rows, and with reverse=True
    hidden states -> logits (with the backbone's final soft-cap)."""

    def __init__(self, backbone):
        self._backbone = backbone

    @property
    def input_dim(self):
        return self._backbone.vocabulary_size

    @property
    def output_dim(self):
        return self._backbone.hidden_dim

    @property
    def logit_soft_cap(self):
        return self._backbone.final_logit_soft_cap

    tie_weights = True

    @property
    def storage_dtype(self):
        """How the engine stores the matrix: "F32", "BF16", "F16" or a ggml block type such as "Q8_0"."""
        return self._backbone._core.token_embedding_view()[1]

    @property
    def raw_embeddings(self):
        """The stored bytes, never copied: float32/float16 as such, bfloat16 as uint16 bit patterns, quantized
        storage as uint8 rows of blocks. Read-only; it keeps the model alive."""
        return self._backbone._core.token_embedding_view()[0]

    @property
    def embeddings(self):
        """The [vocabulary_size, hidden_dim] matrix. float32 and float16 storage: a read-only NumPy view of the
        engine's memory (no copy). bfloat16 storage: a float32 copy (NumPy has no bfloat16; `raw_embeddings`
        is the zero-copy view). Block-quantized storage: TypeError (see `raw_embeddings`)."""
        array, dtype = self._backbone._core.token_embedding_view()
        if dtype in ("F32", "F16"):
            return array
        if dtype == "BF16":
            return _bf16_to_float32(array)
        raise TypeError(f"token_embedding is stored block-quantized ({dtype}); NumPy cannot view it as numbers. "
                        "raw_embeddings gives its bytes")

    def __call__(self, inputs, reverse=False):
        if not reverse:
            return np.take(self.embeddings, np.asarray(inputs), axis=0)
        logits = np.asarray(inputs, dtype=np.float32) @ self.embeddings.astype(np.float32, copy=False).T
        cap = self.logit_soft_cap
        if cap is not None:
            logits = np.tanh(logits / np.float32(cap)) * np.float32(cap)
        return logits


class _Encoder:
    """Stands for an encoder that lives inside the C++ backbone (KerasHub's Gemma4VisionEncoder / AudioEncoder)."""

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<{self.kind} inside the gemma4.cpp backbone>"


class Gemma4Backbone:
    """Gemma 4 core network with hyperparameters (keras_hub.models.Gemma4Backbone).

    The constructor makes a randomly initialised model with every argument of KerasHub's (same names, defaults
    and checks; errors are ValueError naming the argument). `from_preset` loads weights. Calling the model on
    a dict of NumPy arrays (`token_ids`, `padding_mask`, and optionally `position_ids`, the image inputs
    `pixel_values`, `pixel_position_ids`, `vision_indices`, `vision_mask` and the audio inputs `audio_mel`,
    `audio_mel_mask`, `audio_indices`, `audio_mask`) returns the sequence output [batch, sequence, hidden_dim],
    or for embedding models a dict {"sequence_output", "pooled_output"}, as KerasHub does.

    Beyond KerasHub's arguments: `seed=` (the random weights; default a fresh one), `name=`. Encoders cannot be
    built randomly here: vision_encoder and audio_encoder must be None (presets bring theirs).
    """

    def __init__(self, vocabulary_size, image_size, num_layers, num_query_heads, num_key_value_heads, hidden_dim,
                 intermediate_dim, head_dim, query_head_dim_normalize=True, attention_logit_soft_cap=None,
                 final_logit_soft_cap=None, use_sliding_window_attention=True, sliding_window_size=512,
                 sliding_window_pattern=6, layer_types=None, global_head_dim=None, local_rope_scaling_factor=1.0,
                 global_rope_scaling_factor=1.0, vision_encoder=None, audio_encoder=None,
                 num_audio_tokens_per_clip=None, layer_norm_epsilon=1e-6, use_bidirectional_attention=False,
                 use_vision_bidirectional_attention=False, dropout=0, is_embedding_model=False,
                 pooling_intermediate_dim=None, embedding_dim=None, num_kv_shared_layers=0,
                 num_global_key_value_heads=None, hidden_size_per_layer_input=0, vocab_size_per_layer_input=None,
                 global_rope_wavelength=None, local_rope_wavelength=None, global_rope_partial_rotary_factor=1.0,
                 use_double_wide_mlp=False, enable_moe_block=False, num_experts=None, expert_intermediate_dim=None,
                 num_experts_per_token=8, dtype=None, **kwargs):
        arguments = {name: value for name, value in locals().items() if name in _arguments.ALL}
        seed = kwargs.pop("seed", None)
        name = kwargs.pop("name", None)
        kwargs.pop("trainable", None)
        if kwargs:
            raise TypeError(f"Gemma4Backbone got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        config = _arguments.check_all(arguments)
        if is_embedding_model and (embedding_dim is None or pooling_intermediate_dim is None):
            raise ValueError("Must specify embedding_dim and pooling_intermediate_dim.")  # KerasHub's words
        if seed is None:
            seed = random.SystemRandom().randrange(2**63)
        elif not _arguments._is_int(seed) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
        config_json = json.dumps({"class_name": "Gemma4Backbone", "config": config})
        options = {"seed": int(seed)}
        core = _common.config_errors_as_value_errors(_core.Backbone.from_config_json, config_json, options)
        self._attach(core, ("config", config_json, options), name=name)

    # --- construction -------------------------------------------------------------------------------------

    def _attach(self, core, source, name=None, owner=None):
        self._core = core
        self._source = source  # how to rebuild it (LoRA loading): ("config" | "preset", what, load options)
        self._owner = owner    # the Gemma4CausalLM whose engine holds this backbone, if any
        self._lora_file = None
        self.name = name or "gemma4_backbone"
        self._config = json.loads(core.config_json())["config"]
        for key, value in self._config.items():
            setattr(self, key, value)
        self.vision_encoder = _Encoder("Gemma4VisionEncoder") if core.has_vision() else None
        self.audio_encoder = _Encoder("Gemma4AudioEncoder") if core.has_audio() else None
        self.text_only_model = self.vision_encoder is None and self.audio_encoder is None
        if self.layer_types is None:
            self.layer_types = ["full_attention" if i % self.sliding_window_pattern == self.sliding_window_pattern - 1
                                else "sliding_attention" for i in range(self.num_layers)]
        self.token_embedding = TokenEmbedding(self)

    @classmethod
    def _wrap(cls, core, source, owner=None):
        backbone = cls.__new__(cls)
        backbone._attach(core, source, owner=owner)
        return backbone

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Instantiates the backbone of a preset: a built-in name (`gemma4cpp.models.Gemma4Backbone.presets`),
        a kaggle:// or hf:// handle (from the local KaggleHub / Hugging Face caches), a local folder (KerasHub
        preset or Hugging Face checkpoint) or a GGUF file. load_weights=False: the preset's architecture with
        random weights (text only). kwargs: Gemma4Backbone arguments that override the preset's config (as
        KerasHub allows), `dtype` ("float32" / "bfloat16" storage), and the engine's `seed`, `quantize`
        ("q8_0" / "q4_0"), `mmproj`, `threads`, `lora_adapters`."""
        preset = os.fspath(preset)
        options = _common.load_options(load_weights, kwargs)
        core = _common.config_errors_as_value_errors(_core.Backbone.from_preset, preset, options)
        return cls._wrap(core, ("preset", preset, options))

    @_common.classproperty
    def presets(cls):
        return _common.builtin_presets()

    # --- running ------------------------------------------------------------------------------------------

    @staticmethod
    def _core_inputs(inputs):
        if not isinstance(inputs, dict):
            raise ValueError(f"Gemma4Backbone takes a dict of arrays (token_ids, padding_mask, ...), got "
                             f"{type(inputs).__name__}")
        out = {}
        for key, value in inputs.items():
            if value is None:
                continue
            array = np.asarray(value)
            if key in _INT_INPUTS and array.dtype.kind not in "iub":
                raise ValueError(f"inputs['{key}'] must hold integers, got dtype {array.dtype}")
            if key in _FLOAT_INPUTS and array.dtype.kind not in "fiub":
                raise ValueError(f"inputs['{key}'] must hold numbers, got dtype {array.dtype}")
            if key in ("token_ids", "padding_mask", "position_ids") and array.ndim == 1:
                raise ValueError(f"inputs['{key}'] must be [batch, sequence], got shape {array.shape}")
            out[key] = array
        return out

    def forward(self, inputs, return_logits=False, return_hidden_states=False):
        """Everything one forward pass gives, as a dict: sequence_output, pooled_output (embedding models),
        logits (return_logits) and hidden_states [num_layers + 1, batch, sequence, hidden_dim]
        (return_hidden_states). The arrays are the engine's output buffers, handed over without a copy."""
        return self._core.forward(self._core_inputs(inputs), compute_logits=bool(return_logits),
                                  keep_hidden_states=bool(return_hidden_states))

    def __call__(self, inputs):
        outputs = self.forward(inputs)
        if self.is_embedding_model:
            return {"sequence_output": outputs["sequence_output"], "pooled_output": outputs["pooled_output"]}
        return outputs["sequence_output"]

    predict = __call__

    # --- what it is ---------------------------------------------------------------------------------------

    def count_params(self):
        """Parameters as KerasHub counts them (text backbone plus any encoders)."""
        return self._core.parameter_count_with_encoders()

    def get_config(self):
        config = dict(self._config)
        config["layer_types"] = list(self.layer_types)
        config["vision_encoder"] = None
        config["audio_encoder"] = None
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("vision_encoder", "audio_encoder", "trainable"):
            config.pop(key, None)
        return cls(**config)

    def __repr__(self):
        return (f"<Gemma4Backbone name={self.name!r} layers={self.num_layers} hidden_dim={self.hidden_dim} "
                f"params={self.count_params():,}>")

    # --- LoRA ---------------------------------------------------------------------------------------------

    def default_lora_layer_names(self):
        """KerasHub's defaults: the query and value projections of every attention layer."""
        names = ["query_dense", "value_dense", "query", "value"]
        if not self.text_only_model:
            names += ["query_proj", "value_proj"]
        return names

    def enable_lora(self, rank, target_layer_names=None):
        """KerasHub's Backbone.enable_lora: adds trainable rank-`rank` adapters to every text decoder layer named in
        `target_layer_names` (None: `default_lora_layer_names()`, i.e. the query and value projections) and freezes
        the rest. Each adapted layer gets `lora_kernel_a` (kernel.shape[:-1] + (rank,), he_uniform) and
        `lora_kernel_b` ((rank, kernel.shape[-1]), zeros), float32, and from now on computes with
        kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b (lora_alpha = rank): the outputs are unchanged
        until b is set. The factors are writable NumPy views (`lora_layers()`, `trainable_weights`): writing into
        them changes the next call. Calling enable_lora again replaces the adapters."""
        if not _arguments._is_int(rank) or rank <= 0:
            raise ValueError(f"`rank` must be a positive integer, got {rank!r}")
        if target_layer_names is None:
            target_layer_names = self.default_lora_layer_names()
        if isinstance(target_layer_names, str) or not all(isinstance(n, str) for n in target_layer_names):
            raise ValueError(f"`target_layer_names` must be a list of layer names, got {target_layer_names!r}")
        try:
            self._core.enable_lora(int(rank), list(target_layer_names))
        except _core.Error as error:
            raise ValueError(str(error)) from None
        self._lora_file = None

    @property
    def lora_enabled(self):
        return self._core.lora_enabled()

    @property
    def lora_rank(self):
        """The rank given to enable_lora (or read by load_lora_weights); None while LoRA is not enabled."""
        return self._core.lora_rank() if self._core.lora_enabled() else None

    def lora_layers(self):
        """The LoRA-enabled layers, in KerasHub's layer order: {"<block>/<layer name>": LoraDense}, e.g.
        "3/query", each with `lora_kernel_a` / `lora_kernel_b` as writable float32 NumPy views of the engine's
        adapters (no copy), `kernel_shape`, `lora_rank`, `lora_alpha`. Empty while LoRA is not enabled."""
        alpha = self._core.lora_alpha()
        layers = {}
        for name, block, tensor, a, b in self._core.lora_layers():
            layers[f"{block}/{name}"] = LoraDense(name, block, tensor, a, b, alpha)
        return layers

    @property
    def trainable_weights(self):
        """After enable_lora, as in KerasHub: exactly the LoRA factors (a, b of each adapted layer, in layer
        order), as writable views. The frozen weights are not exposed for training, so before enable_lora this is
        an error rather than a list that would miss them."""
        if not self._core.lora_enabled():
            raise ValueError("trainable_weights: gemma4cpp trains only LoRA adapters; call enable_lora(rank) first")
        weights = []
        for layer in self.lora_layers().values():
            weights += [layer.lora_kernel_a, layer.lora_kernel_b]
        return weights

    def count_trainable_params(self):
        """Parameters KerasHub would train after enable_lora (the LoRA factors); 0 before (nothing is trainable
        here)."""
        return self._core.lora_parameter_count()

    def save_lora_weights(self, filepath):
        """KerasHub's save_lora_weights: a path ending in `.lora.h5` writes KerasHub's file (default query/value
        targets only, as KerasHub's loader expects), any other path a Hugging Face PEFT folder
        (adapter_config.json + adapter_model.safetensors) that `--lora` / LoadOptions.lora_adapters and PEFT read."""
        filepath = os.fspath(filepath)
        if not self._core.lora_enabled():
            raise ValueError("There are no lora-enabled layers in this model. Make sure to call `.enable_lora(rank)` "
                             "first.")  # KerasHub's words
        if filepath.endswith(".h5") and not filepath.endswith(".lora.h5"):
            raise ValueError(f"`filepath`: KerasHub LoRA files must end in '.lora.h5', got '{filepath}'")
        try:
            self._core.save_lora_weights(filepath)
        except _core.Error as error:
            raise ValueError(str(error)) from None

    def load_lora_weights(self, filepath):
        """KerasHub's load_lora_weights: reads a `.lora.h5` file or a PEFT folder (as save_lora_weights writes
        them) into the live adapters, enabling LoRA with the file's rank and targets when it is not enabled yet (as
        KerasHub does); with LoRA enabled, the file's rank and layers must be those enabled. The arrays of
        `lora_layers()` are updated in place.

        A PEFT adapter that KerasHub's LoRA cannot hold (another tool's: some layers only, a free lora_B on the
        query heads) is instead merged into the weights, as `lora_adapters=` at load time does; the model is
        rebuilt from its source for that (weights never pass through Python), and loading again replaces the
        merged adapter. That needs LoRA not to be enabled."""
        filepath = os.fspath(filepath)
        if not os.path.exists(filepath):
            raise ValueError(f"`filepath`: no LoRA adapter at '{filepath}'")
        enabled = self._core.lora_enabled()
        try:
            self._core.load_lora_weights(filepath)
            return
        except _core.Error as error:
            if enabled or filepath.endswith(".h5"):
                raise ValueError(str(error)) from None
        self._merge_lora_weights(filepath)

    def _merge_lora_weights(self, filepath):
        kind, what, options = self._source
        options = dict(options)
        options["lora_adapters"] = list(options.get("lora_adapters", [])) + [filepath]
        if self._owner is not None:
            self._owner._reload(options)  # rebuilds the engine around a new backbone and re-attaches this object
        elif kind == "config":
            self._core = _core.Backbone.from_config_json(what, options)
        else:
            self._core = _core.Backbone.from_preset(what, options)
        self._lora_file = filepath


class LoraDense:
    """One LoRA-enabled layer (KerasHub's EinsumDense / Dense after enable_lora): `lora_kernel_a` and
    `lora_kernel_b` are writable float32 views of the engine's adapter (kernel + lora_alpha / lora_rank *
    a @ b is what the layer computes with)."""

    def __init__(self, name, block, tensor, a, b, alpha):
        self.name = name
        self.block = block
        self.tensor = tensor  # the Hugging Face tensor it adapts, e.g. "layers.3.self_attn.q_proj.weight"
        self.lora_kernel_a = a
        self.lora_kernel_b = b
        self.lora_rank = b.shape[0]
        self.lora_alpha = alpha
        self.lora_enabled = True

    @property
    def kernel_shape(self):
        return tuple(self.lora_kernel_a.shape[:-1]) + (self.lora_kernel_b.shape[1],)

    def __repr__(self):
        return f"<LoraDense {self.block}/{self.name} kernel={self.kernel_shape} rank={self.lora_rank}>"
