#!/usr/bin/python3
"""Compare two [T, vocab] logit arrays by their next-token log-probabilities.

  compare_logprobs.py OURS.npy THEIRS.npy [--max 0.1] [--mean 0.005] [--argmax 0.95] [--label NAME] [--worst K]

Computes log-softmax of every row (float64), then prints the max and mean absolute difference of the
log-probabilities, and the fraction of positions where the argmax agrees. Exits 1 with a clear message when a
threshold is violated (max diff > --max, mean diff > --mean, argmax agreement < --argmax), or the arrays do not
match in shape or hold non-finite values; 0 otherwise. The last stdout line is a one-line summary.
"""

import argparse
import sys

import numpy as np


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def compare(ours, theirs):
    a, b = log_softmax(ours), log_softmax(theirs)
    d = np.abs(a - b)
    agree = ours.argmax(axis=-1) == theirs.argmax(axis=-1)
    return {
        "max": float(d.max()),
        "mean": float(d.mean()),
        "argmax": float(agree.mean()),
        "per_pos_max": d.max(axis=-1),
        "agree": agree,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours")
    ap.add_argument("theirs")
    ap.add_argument("--max", type=float, default=0.1, dest="max_tol")
    ap.add_argument("--mean", type=float, default=0.005, dest="mean_tol")
    ap.add_argument("--argmax", type=float, default=0.95, dest="argmax_tol")
    ap.add_argument("--label", default="")
    ap.add_argument("--worst", type=int, default=3, help="list the K positions with the largest difference")
    a = ap.parse_args()

    ours = np.load(a.ours)
    theirs = np.load(a.theirs)
    label = f"{a.label}: " if a.label else ""
    if ours.ndim == 1:
        ours = ours[None]
    if theirs.ndim == 1:
        theirs = theirs[None]
    if ours.shape != theirs.shape:
        print(f"{label}FAIL: shape mismatch: {a.ours} is {list(ours.shape)}, {a.theirs} is {list(theirs.shape)}")
        return 1
    for nm, arr, path in (("ours", ours, a.ours), ("theirs", theirs, a.theirs)):
        bad = ~np.isfinite(arr)
        if bad.any():
            rows = np.unique(np.nonzero(bad)[0])
            print(f"{label}FAIL: {path} ({nm}) has {int(bad.sum())} non-finite values (rows {rows[:10].tolist()})")
            return 1

    r = compare(ours, theirs)
    T = ours.shape[0]
    worst = np.argsort(-r["per_pos_max"])[: max(0, a.worst)]
    for t in worst:
        print(f"  pos {int(t):4d}: max |dlogp| {r['per_pos_max'][t]:.3g}, argmax ours {int(ours[t].argmax())} "
              f"theirs {int(theirs[t].argmax())}")
    bad_pos = np.nonzero(~r["agree"])[0]
    if len(bad_pos):
        print(f"  argmax differs at positions {bad_pos[:20].tolist()}{' ...' if len(bad_pos) > 20 else ''}")

    failures = []
    if not r["max"] <= a.max_tol:
        failures.append(f"max |dlogp| {r['max']:.4g} > {a.max_tol}")
    if not r["mean"] <= a.mean_tol:
        failures.append(f"mean |dlogp| {r['mean']:.4g} > {a.mean_tol}")
    if not r["argmax"] >= a.argmax_tol:
        failures.append(f"argmax agreement {r['argmax']:.4f} < {a.argmax_tol}")
    status = "PASS" if not failures else "FAIL"
    print(f"{label}{status}: T={T} vocab={ours.shape[1]} max={r['max']:.3g} mean={r['mean']:.3g} "
          f"argmax={100 * r['argmax']:.1f}%" + ("" if not failures else "  (" + "; ".join(failures) + ")"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
