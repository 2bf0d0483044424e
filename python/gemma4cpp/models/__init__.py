"""KerasHub's Gemma 4 model classes (keras_hub.models.*) on gemma4.cpp."""

from gemma4cpp.models.gemma4_backbone import Gemma4Backbone, TokenEmbedding
from gemma4cpp.models.gemma4_causal_lm import Gemma4CausalLM
from gemma4cpp.models.gemma4_tokenizer import Gemma4Tokenizer

__all__ = ["Gemma4Backbone", "Gemma4CausalLM", "Gemma4Tokenizer", "TokenEmbedding"]
