#!/bin/bash
# The image converter against Pillow (an independent implementation of the same antialiased bicubic
# filter): random RGB images written as PNG, resized by `gemma4 image` and by Pillow in float mode ("F",
# no rounding between passes), then the patches checked against the Pillow result cut by hand.
# Usage: bash tests/vision/test_image_resize.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for size in "300 200" "1080 720" "2000 1500" "96 1500" "50 50"; do
  set -- $size
  /usr/bin/python3 - "$WORK/in.png" "$1" "$2" <<'PY'
import sys
import numpy as np
from PIL import Image
path, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(height * 10000 + width)
# Smooth content plus noise, like a photograph with texture.
y, x = np.mgrid[0:height, 0:width]
base = 127 + 100 * np.sin(x[..., None] / 17.0 + np.array([0, 1, 2])) * np.cos(y[..., None] / 23.0)
pixels = np.clip(base + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)
Image.fromarray(pixels, "RGB").save(path)
PY
  "$BUILD/bin/gemma4" image --image "$WORK/in.png" --dump-resized "$WORK/resized.npy" \
      --dump-patches "$WORK/patches.npy" --dump-positions "$WORK/positions.npy" > "$WORK/log.txt"
  cat "$WORK/log.txt"
  /usr/bin/python3 - "$WORK" <<'PY'
import sys
import numpy as np
from PIL import Image
work = sys.argv[1]
pixels = np.asarray(Image.open(f"{work}/in.png").convert("RGB"))
ours = np.load(f"{work}/resized.npy")
height, width = ours.shape[:2]
reference = np.stack([np.asarray(Image.fromarray(pixels[..., c].astype(np.float32), "F")
                                 .resize((width, height), Image.BICUBIC)) for c in range(3)], axis=-1)
reference = np.clip(reference, 0, 255)
diff = np.abs(ours - reference)
print(f"  resized {height}x{width}: max |ours - Pillow| {diff.max():.4g}, mean {diff.mean():.3g} (of 0..255)")
assert diff.max() < 0.05, "resize differs from Pillow's bicubic"
p = 16
patches = np.load(f"{work}/patches.npy")
positions = np.load(f"{work}/positions.npy")
rows, cols = height // p, width // p
expected = (reference[:rows * p, :cols * p] * np.float32(1 / 255)).reshape(rows, p, cols, p, 3)
expected = expected.transpose(0, 2, 1, 3, 4).reshape(rows * cols, p * p * 3)
assert np.abs(patches[:rows * cols] - expected).max() < 0.05 / 255, "patch layout differs"
assert (patches[rows * cols:] == 0).all()
grid = np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), -1).reshape(-1, 2)  # (x, y), raster order
assert (positions[:rows * cols] == grid).all() and (positions[rows * cols:] == -1).all()
PY
done
echo "image converter matches Pillow"
