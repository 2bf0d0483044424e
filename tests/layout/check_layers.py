"""Checks that each folder of src/ includes only the folders below it (docs/architecture.md, "Layers"),
and that the CLI commands other than the two internal tools use only the public headers."""
import os
import re
import sys

# Folder -> the folders its files may include (besides itself).
ALLOWED = {
    "core": set(),
    "kernels": {"core"},
    "schema": {"core"},
    "formats": {"core", "kernels", "schema"},
    "presets": {"core", "schema", "formats"},
    "hub": {"core", "schema", "formats", "presets"},
    "model": {"core", "kernels", "schema"},
    "text": {"core", "kernels", "schema", "formats"},
    "vision": {"core", "kernels", "schema", "model"},
    "audio": {"core", "kernels", "schema", "model"},
    "generate": {"core", "kernels", "schema", "model", "text"},
    "serve": {"core", "schema", "text"},
    "train": {"core", "kernels", "schema", "formats", "model", "text"},
}
ALLOWED["loading"] = set(ALLOWED) - {"loading"}
# CLI commands that reach inside the library on purpose (benchmarks and test-model making).
INTERNAL_TOOLS = {"cmd_bench.cc", "cmd_make_test_model.cc"}
INCLUDE = re.compile(r'\s*#\s*include\s+"([A-Za-z0-9_]+)/')


def quoted_include_folders(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            match = INCLUDE.match(line)
            if match:
                yield number, match.group(1)


def main(root):
    problems = []
    src = os.path.join(root, "src")
    for folder in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, folder)):
            continue
        if folder not in ALLOWED:
            problems.append(f"src/{folder}: a folder with no place in the layer table of {__file__}")
            continue
        for base, _, files in os.walk(os.path.join(src, folder)):
            for name in files:
                path = os.path.join(base, name)
                for number, used in quoted_include_folders(path):
                    if used != folder and used in ALLOWED and used not in ALLOWED[folder]:
                        problems.append(f"{os.path.relpath(path, root)}:{number}: {folder} may not include {used}/")
    tools = os.path.join(root, "tools", "gemma4")
    for name in sorted(os.listdir(tools)):
        if name in INTERNAL_TOOLS:
            continue
        for number, used in quoted_include_folders(os.path.join(tools, name)):
            if used in ALLOWED:
                problems.append(f"tools/gemma4/{name}:{number}: the CLI uses the public headers only, not {used}/")
    for problem in problems:
        print(problem)
    print(f"layers: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")))
