"""Ctrl-C stops a long generation: SIGINT sent to a Python process in the middle of generate() (and of a
generate_stream loop) raises KeyboardInterrupt there within a token step."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import build_dir

SCRIPT = r"""
import sys
from gemma4cpp.models import Gemma4CausalLM
lm = Gemma4CausalLM.from_preset(sys.argv[1], load_weights=False, max_context=200000, hidden_dim=256,
                                intermediate_dim=1024, num_layers=6)
try:
    print("generating", flush=True)
    if sys.argv[2] == "stream":
        for piece in lm.generate_stream("Hello", max_length=200000, stop_token_ids=None):
            pass
    else:
        lm.generate("Hello", max_length=200000, stop_token_ids=None)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    lm.generate("Hello", max_length=8)  # the model is usable again
    print("usable", flush=True)
"""


@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_sigint_interrupts_generation(test_model, mode):
    env = dict(os.environ, PYTHONPATH=str(build_dir() / "python"))
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(test_model), mode], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout.readline().strip() == "generating"
        time.sleep(1.5)  # well inside a generation that would take minutes
        assert process.poll() is None, "generation ended before the signal"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert "interrupted" in out and "usable" in out, (out, err)
        assert time.monotonic() - started < 30
    finally:
        if process.poll() is None:
            process.kill()
