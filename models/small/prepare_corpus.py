#!/usr/bin/env python3
"""The corpus of builtin:small: the King James Version from Debian's bible-kjv package, one document per chapter.

    /usr/bin/python3 prepare_corpus.py OUT_DIR [--bible PATH_TO_bible]

Runs `bible -l0 Gen1:1-Rev22:21` (bible-kjv prints every verse on one line, under a "Book N" heading per chapter)
and writes
  OUT_DIR/train.jsonl    one training chapter per line: its verses joined by "\\n", verse numbers dropped; the even
                         chapters (in canon order) as plain text {"text": ...}, the odd ones as a chat in which the
                         user names the chapter and the model recites it {"messages": [{"role": "user", "content":
                         "Genesis 2"}, {"role": "assistant", "content": ...}]}, so that both `generate --raw` (text
                         continuation) and the chat template's turns (the default of `generate`) lead into English
  OUT_DIR/heldout.jsonl  the held-out chapters, plain text only: every 20th chapter (index % 20 == 10, in canon order)
  OUT_DIR/train.txt      the training verses, one per line (what the vocabulary is trained on)
  OUT_DIR/heldout.txt    the held-out chapters as plain text, chapters separated by a blank line
  OUT_DIR/heldout_sample.txt  the first four of them (Genesis 11, Genesis 31, Exodus 1, Exodus 21) the same way:
                         the sample tests/unit/builtin_small_test.cc measures (tests/data/builtin_small/)
and prints the counts. The split is by chapter so no held-out verse has its neighbours in training.
"""
import json
import os
import re
import subprocess
import sys

HELD_OUT_EVERY, HELD_OUT_AT = 20, 10
HEADING = re.compile(r"^([1-3] )?[A-Z][A-Za-z ]+ [0-9]+$")   # "Genesis 1", "1 Kings 8", "Song of Solomon 2"
VERSE = re.compile(r"^ *([0-9]+) (.+)$")


def fail(message):
    sys.stderr.write(f"prepare_corpus.py: {message}\n")
    sys.exit(1)


def chapters(text):
    """[(heading, [verse, ...])] in the order bible prints them; checks the verse numbers count up from 1."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip()
        if not line:
            continue
        if HEADING.match(line):
            out.append((line, []))
            continue
        m = VERSE.match(line)
        if not m or not out:
            fail(f"line {n} is neither a chapter heading nor a verse: {line[:80]!r}")
        verses = out[-1][1]
        if int(m.group(1)) != len(verses) + 1:
            fail(f"line {n}: verse {m.group(1)} of {out[-1][0]} follows verse {len(verses)}")
        verses.append(m.group(2).strip())
    return out


def main():
    args = sys.argv[1:]
    bible = "bible"
    if "--bible" in args:
        i = args.index("--bible")
        bible = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        fail("usage: prepare_corpus.py OUT_DIR [--bible PATH]")
    out_dir = args[0]
    try:
        text = subprocess.run([bible, "-l0", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                              text=True, encoding="ascii").stdout
    except FileNotFoundError:
        fail(f"'{bible}' not found: install Debian's bible-kjv (apt-get install bible-kjv)")
    except subprocess.CalledProcessError as e:
        fail(f"'{bible}' failed ({e.returncode}): {e.stderr[:200]}")
    found = chapters(text)
    if len(found) != 1189 or sum(len(v) for _, v in found) != 31102:
        fail(f"expected the 1,189 chapters and 31,102 verses of the KJV, got {len(found)} chapters and "
             f"{sum(len(v) for _, v in found)} verses")
    os.makedirs(out_dir, exist_ok=True)
    splits = {"train": [], "heldout": []}
    headings = {"train": [], "heldout": []}
    for index, (heading, verses) in enumerate(found):
        name = "heldout" if index % HELD_OUT_EVERY == HELD_OUT_AT else "train"
        splits[name].append(verses)
        headings[name].append(heading)
    with open(os.path.join(out_dir, "train.jsonl"), "w", encoding="utf-8") as f:
        for k, (heading, verses) in enumerate(zip(headings["train"], splits["train"])):
            text = "\n".join(verses)
            if k % 2 == 0:
                line = {"text": text}
            else:
                line = {"messages": [{"role": "user", "content": heading}, {"role": "assistant", "content": text}]}
            f.write(json.dumps(line) + "\n")
    with open(os.path.join(out_dir, "heldout.jsonl"), "w", encoding="utf-8") as f:
        for verses in splits["heldout"]:
            f.write(json.dumps({"text": "\n".join(verses)}) + "\n")
    with open(os.path.join(out_dir, "train.txt"), "w", encoding="utf-8") as f:
        for heading, verses in zip(headings["train"], splits["train"]):
            f.write(heading + "\n" + "".join(v + "\n" for v in verses))
    for name, docs in (("heldout.txt", splits["heldout"]), ("heldout_sample.txt", splits["heldout"][:4])):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write("\n\n".join("\n".join(v) for v in docs) + "\n")
    for name, docs in splits.items():
        chars = sum(len("\n".join(v)) for v in docs)
        print(f"{name}: {len(docs)} chapters, {sum(len(v) for v in docs)} verses, {chars} characters")


if __name__ == "__main__":
    main()
