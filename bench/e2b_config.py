"""Writes the E2B text config (bench/e2b_text.json) cut to LAYERS layers with the same widths: the last of
each five layers global (and the last one), about 20/35 of them KV-shared, as the real E2B stack.
Usage: e2b_config.py SOURCE_JSON OUT_JSON LAYERS"""
import json
import sys

config = json.load(open(sys.argv[1]))
layers = int(sys.argv[3])
config["num_hidden_layers"] = layers
config["layer_types"] = ["full_attention" if i % 5 == 4 or i == layers - 1 else "sliding_attention" for i in range(layers)]
config["num_kv_shared_layers"] = round(layers * 20 / 35)
json.dump(config, open(sys.argv[2], "w"), indent=2)
