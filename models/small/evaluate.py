#!/usr/bin/python3
"""Held-out loss of a builtin:small candidate against a unigram baseline on the same split and tokenizer.

    /usr/bin/python3 evaluate.py --gemma4 build/bin/gemma4 --model DIR --train train.jsonl --heldout heldout.jsonl

Each held-out chapter is scored as the trainer's plain-text documents are fed, <bos> then the chapter, and every
chapter token is a target (the <bos> is context only; no <eos> target, so the unigram model is not handed a token
it cannot place). The model's log-probabilities come from `gemma4 forward --dump-logits` (the engine's own forward
pass, after the final soft-cap), the log-sum-exp here in float64.

Unigram baseline: token frequencies of the training split's chapters (all of them, also those trained in chat
form), add-one smoothed over the vocabulary, as the cross-entropy of the held-out targets. Also printed: the
held-out targets' own unigram entropy, the lowest cross-entropy any unigram model can reach on them.
Prints one JSON object.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np


def chapters(path):
    out = []
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        item = json.loads(line)
        if "text" in item:
            out.append(item["text"])
        else:
            out.append("".join(m["content"] for m in item["messages"] if m["role"] == "assistant"))
    return out


def tokenize(gemma4, model, texts):
    lines = "".join(json.dumps(t) + "\n" for t in texts)
    done = subprocess.run([gemma4, "tokenize", "--tokenizer", model, "--json-input"], input=lines, text=True,
                          capture_output=True, check=True)
    ids = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(ids) != len(texts):
        sys.exit(f"evaluate.py: tokenize gave {len(ids)} lines for {len(texts)} texts")
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemma4", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--bos", type=int, default=2)
    args = ap.parse_args()
    config = json.load(open(os.path.join(args.model, "config.json")))
    vocab = config.get("vocab_size") or config["text_config"]["vocab_size"]

    train_ids = tokenize(args.gemma4, args.model, chapters(args.train))
    held_ids = tokenize(args.gemma4, args.model, chapters(args.heldout))
    counts = np.zeros(vocab, dtype=np.float64)
    for ids in train_ids:
        np.add.at(counts, np.asarray(ids, dtype=np.int64), 1)
    unigram_logp = np.log((counts + 1) / (counts.sum() + vocab))
    held_counts = np.zeros(vocab, dtype=np.float64)
    model_nats = unigram_nats = 0.0
    targets = 0
    with tempfile.TemporaryDirectory() as tmp:
        tokens_path, logits_path = os.path.join(tmp, "tokens.npy"), os.path.join(tmp, "logits.npy")
        for ids in held_ids:
            seq = np.asarray([args.bos] + ids, dtype=np.int32)[None, :]
            np.save(tokens_path, seq)
            subprocess.run([args.gemma4, "forward", "--model", args.model, "--tokens-npy", tokens_path,
                            "--dump-logits", logits_path], check=True, capture_output=True)
            logits = np.load(logits_path).astype(np.float64).reshape(seq.shape[1], vocab)[:-1]
            top = logits.max(axis=1)
            lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
            target = np.asarray(ids, dtype=np.int64)
            model_nats += float((lse - logits[np.arange(len(ids)), target]).sum())
            unigram_nats -= float(unigram_logp[target].sum())
            np.add.at(held_counts, target, 1)
            targets += len(ids)
    p = held_counts[held_counts > 0] / targets
    own_entropy = float(-(p * np.log(p)).sum())
    model_loss, unigram_loss = model_nats / targets, unigram_nats / targets
    print(json.dumps({
        "heldout_chapters": len(held_ids), "heldout_targets": targets,
        "train_tokens_counted": int(counts.sum()),
        "model_loss": round(model_loss, 4), "model_perplexity": round(math.exp(model_loss), 2),
        "unigram_loss": round(unigram_loss, 4), "unigram_perplexity": round(math.exp(unigram_loss), 2),
        "heldout_own_unigram_entropy": round(own_entropy, 4),
    }, indent=1))


if __name__ == "__main__":
    main()
