#!/usr/bin/env bash
# `pip install .` works offline in a virtual environment made from Debian's python3 (--system-site-packages for
# numpy, --no-build-isolation for setuptools): setup.py builds the module with the project's CMake. To stay
# cheap it reuses BUILD_DIR (GEMMA4_CMAKE_BUILD_DIR: only the module target is built there, usually nothing).
#   bash tests/python/test_pip_install.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: test_pip_install.sh BUILD_DIR}" && pwd)
SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$TMP/venv" || { echo "FAIL: python3 -m venv"; exit 1; }
cd "$SOURCE"
if ! GEMMA4_CMAKE_BUILD_DIR="$BUILD" timeout 600 "$TMP/venv/bin/pip" install --no-build-isolation --no-index -q . \
    >"$TMP/pip.log" 2>&1; then
  echo "FAIL: pip install"; tail -30 "$TMP/pip.log"; exit 1
fi
cd "$TMP"  # away from the source tree, so that only the installed package can be imported
if "$TMP/venv/bin/python" - "$TMP/venv" <<'PY'
import sys
import numpy as np
import gemma4cpp
from gemma4cpp.models import Gemma4Backbone
assert gemma4cpp.__file__.startswith(sys.argv[1]), gemma4cpp.__file__
assert gemma4cpp._core.__file__.startswith(sys.argv[1]), gemma4cpp._core.__file__
model = Gemma4Backbone(vocabulary_size=32, image_size=None, num_layers=1, num_query_heads=2, num_key_value_heads=1,
                       hidden_dim=8, intermediate_dim=16, head_dim=4, seed=1)
out = model({"token_ids": np.ones((1, 3), "int32"), "padding_mask": np.ones((1, 3), "int32")})
assert out.shape == (1, 3, 8)
print("installed at", gemma4cpp.__file__)
PY
then echo "PASS: pip install . into a venv, import and run"; else echo "FAIL: the installed package"; exit 1; fi
