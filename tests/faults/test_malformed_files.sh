#!/bin/bash
# The malformed-input corpus (tests/data/malformed/manifest.json, made by make_malformed.py): every file through
# the real entry point (the gemma4 CLI), checking exit status, error text, no signal, 30 s and 4 GiB address space.
# Usage: bash tests/faults/test_malformed_files.sh BUILD_DIR
set -uo pipefail
BUILD="$(cd "${1:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[[ -x "$BUILD/bin/gemma4" ]] || { echo "FAIL: $BUILD/bin/gemma4 is not built"; exit 1; }
exec /usr/bin/python3 "$ROOT/tests/faults/check_malformed.py" "$BUILD/bin/gemma4"
