"""Runs every entry of tests/data/malformed/manifest.json through the gemma4 CLI and checks: the exit status
(an exit, never a signal), the error substring on stderr, a bounded time (30 s) and a bounded address space
(RLIMIT_AS 4 GiB, as `ulimit -v`). Prints one line per entry; exit status 1 if any entry fails.
Usage: /usr/bin/python3 tests/faults/check_malformed.py GEMMA4_BINARY [--show]  (--show: print each stderr line)"""
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data", "malformed")
LIMIT_SECONDS = 30
LIMIT_BYTES = 4 << 30


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main():
    binary = sys.argv[1]
    show = "--show" in sys.argv
    manifest = json.load(open(os.path.join(DATA, "manifest.json")))
    failures = 0
    for entry in manifest["entries"]:
        path = os.path.join(DATA, "files", entry["file"])
        command = [binary] + [a.replace("{file}", path).replace("{root}", ROOT) for a in entry["command"]]
        start = time.monotonic()
        try:
            run = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=LIMIT_SECONDS,
                                 preexec_fn=limit_memory, env=dict(os.environ, GEMMA4_THREADS="1"))
        except subprocess.TimeoutExpired:
            print(f"FAIL {entry['file']}: still running after {LIMIT_SECONDS} s")
            failures += 1
            continue
        seconds = time.monotonic() - start
        stderr = run.stderr.decode("utf-8", "replace")
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        problems = []
        if run.returncode < 0:
            problems.append(f"killed by signal {-run.returncode}")
        elif run.returncode != entry["exit"]:
            problems.append(f"exit status {run.returncode}, expected {entry['exit']}")
        if entry["error"] and entry["error"] not in stderr:
            problems.append(f"stderr lacks {entry['error']!r}")
        if not entry["error"] and entry["exit"] != 0:
            problems.append("the manifest gives no error text")
        if "AddressSanitizer" in stderr or "runtime error:" in stderr or "terminate called" in stderr:
            problems.append("a sanitizer report or std::terminate")
        status = "FAIL" if problems else "ok"
        failures += bool(problems)
        detail = "; ".join(problems)
        print(f"{status:4} {entry['file']} ({seconds:.1f} s){': ' + detail if detail else ''}")
        if show or problems:
            print(f"     stderr: {last[:300]}")
    print(f"{len(manifest['entries'])} malformed inputs, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
