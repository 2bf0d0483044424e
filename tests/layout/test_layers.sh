#!/usr/bin/env bash
# The include lines of src/ and tools/ follow the layer table (docs/architecture.md). A seeded violation
# must be caught, so the check itself is checked.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
/usr/bin/python3 "$here/check_layers.py" "$root"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/src/core" "$scratch/src/model" "$scratch/tools/gemma4"
printf '#include "model/text_model.h"\n' > "$scratch/src/core/bad.cc"
printf '#include "core/tensor.h"\n' > "$scratch/src/model/good.cc"
printf '#include "core/tensor.h"\n' > "$scratch/tools/gemma4/cmd_x.cc"
if /usr/bin/python3 "$here/check_layers.py" "$scratch" > "$scratch/out.txt"; then
  echo "FAIL: the seeded violations were not reported"; exit 1
fi
grep -q "src/core/bad.cc:1: core may not include model/" "$scratch/out.txt"
grep -q "tools/gemma4/cmd_x.cc:1: the CLI uses the public headers only" "$scratch/out.txt"
if grep -q "good.cc" "$scratch/out.txt"; then echo "FAIL: an allowed include was reported"; exit 1; fi
echo "layers: the seeded violations were caught"
