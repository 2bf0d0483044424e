"""gemma4cpp: gemma4.cpp's Gemma 4 engine from Python, with KerasHub's names.

    import numpy as np
    import gemma4cpp

    backbone = gemma4cpp.models.Gemma4Backbone.from_preset("gemma4_instruct_2b")
    hidden = backbone({"token_ids": np.array([[2, 9259]]), "padding_mask": np.ones((1, 2), "int32")})

    causal_lm = gemma4cpp.models.Gemma4CausalLM.from_preset("gemma4_instruct_2b")
    print(causal_lm.generate("The capital of France is", max_length=32))

See docs/python.md.
"""

from gemma4cpp._core import Error, num_threads, set_num_threads
from gemma4cpp import models, samplers

__version__ = "0.1.0"
__all__ = ["Error", "models", "samplers", "num_threads", "set_num_threads", "__version__"]
