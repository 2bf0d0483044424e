#!/usr/bin/env bash
# The Python package's tests (tests/python/*.py, pytest) against the module built in BUILD_DIR/python.
#   bash tests/python/test_python.sh BUILD_DIR
set -uo pipefail
BUILD=$(cd "${1:?usage: test_python.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
if ! ls "$BUILD"/python/gemma4cpp/_core*.so >/dev/null 2>&1; then
  echo "FAIL: $BUILD/python/gemma4cpp/_core*.so is missing (configure with pybind11-dev installed, build gemma4_python)"
  exit 1
fi
cd "$HERE/../.."
GEMMA4_BUILD_DIR="$BUILD" PYTHONPATH="$BUILD/python" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python
