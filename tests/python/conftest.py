"""Shared fixtures of the Python package's tests: the build folder (GEMMA4_BUILD_DIR, set by test_python.sh),
the CLI, and a random-weight model written by `gemma4 make-test-model` that both the CLI and Python load."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

SOURCE_DIR = Path(__file__).resolve().parents[2]
FIXTURES = SOURCE_DIR / "tests" / "data" / "kerashub_fixtures"


def build_dir():
    return Path(os.environ.get("GEMMA4_BUILD_DIR", SOURCE_DIR / "build")).resolve()


@pytest.fixture(scope="session")
def gemma4_cli():
    cli = build_dir() / "bin" / "gemma4"
    if not cli.exists():
        pytest.fail(f"{cli} is missing: build the gemma4_cli target")
    return cli


def run_cli(cli, *args):
    result = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"gemma4 {' '.join(map(str, args))} failed: {result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def test_model(gemma4_cli, tmp_path_factory):
    """A Hugging Face folder (config.json, model.safetensors float32, tokenizer) with random weights."""
    folder = tmp_path_factory.mktemp("model") / "dense"
    run_cli(gemma4_cli, "make-test-model", "--config", SOURCE_DIR / "tests/oracle/configs/dense.json", "--seed", 3,
            "--embedding-std", 0.02, "--out", folder)
    return folder


def load_fixture(name, part):
    folder = FIXTURES / name / part
    return {p.stem: np.load(p) for p in sorted(folder.glob("*.npy"))}


def assert_close(got, want, what):
    """The KerasHub fixtures' rule: max |error| <= 1e-4 x the largest magnitude (float32 summation order)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    worst, scale = float(np.abs(got - want).max()), float(np.abs(want).max())
    assert worst <= 1e-4 * scale, f"{what}: max abs error {worst:.3g} vs max magnitude {scale:.3g}"
