"""The seed's docstring example (keras_hub.models.Gemma4Backbone), run as written with keras_hub.models replaced
by gemma4cpp.models. It builds a 2.6B-parameter random model in bfloat16 (about 5 GB) and runs 128 tokens."""

import numpy as np

import gemma4cpp


def test_seed_docstring_example():
    keras_hub = gemma4cpp  # the example's `keras_hub.models` is `gemma4cpp.models`
    # --- the example, as the seed writes it ---
    import numpy as np
    # Text-only input.
    model = keras_hub.models.Gemma4Backbone(
        vocabulary_size=262144,
        image_size=768,
        num_layers=26,
        num_query_heads=8,
        num_key_value_heads=4,
        hidden_dim=2304,
        intermediate_dim=9216,
        head_dim=256,
        sliding_window_size=512,
        vision_encoder=None,
        dtype="bfloat16",
    )
    inputs = {
        "token_ids": np.ones((1, 128), dtype="int32"),
        "padding_mask": np.ones((1, 128), dtype="int32"),
    }
    output = model(inputs)
    # --- end of the example ---
    assert output.shape == (1, 128, 2304) and output.dtype == np.float32
    assert np.isfinite(output).all()
    assert model.token_embedding.storage_dtype == "BF16"
    # KerasHub's count for this configuration: 262144 x 2304 embeddings + 26 blocks of attention (q, k, v, o and
    # the q/k norms), the gated MLP and four norms + the final norm.
    hidden, heads, kv, head_dim, inner = 2304, 8, 4, 256, 9216
    block = hidden * head_dim * (heads + 2 * kv) + heads * head_dim * hidden + 2 * head_dim
    block += 3 * hidden * inner + 4 * hidden + 1  # the layer scalar
    assert model.count_params() == 262144 * hidden + 26 * block + hidden
