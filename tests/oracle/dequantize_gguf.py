#!/usr/bin/env python3
"""Rewrites a GGUF file with every tensor decoded to F32 by gguf-py (llama.cpp's gguf-py/gguf/quants.py), the
metadata copied as is. llama.cpp then runs the quantized weights' exact values in float32 arithmetic.

    dequantize_gguf.py GGUF_PY_DIR IN.gguf OUT.gguf      prints the input's tensor types as JSON {type: count}
"""
import json
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import gguf  # noqa: E402
from gguf.quants import dequantize  # noqa: E402

reader = gguf.GGUFReader(sys.argv[2])
arch = reader.fields["general.architecture"].contents()
writer = gguf.GGUFWriter(sys.argv[3], arch)
for name, field in reader.fields.items():
    if name.startswith("GGUF.") or name == "general.architecture":
        continue
    main = field.types[0]
    sub = field.types[-1] if main == gguf.GGUFValueType.ARRAY else None
    writer.add_key_value(name, field.contents(), main, sub_type=sub)
types = {}
for t in reader.tensors:
    types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
    writer.add_tensor(t.name, values)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(json.dumps(types, sort_keys=True))
