#!/usr/bin/env python3
"""Inputs for test_gemma4_tokenizer.sh: text full of Gemma 4's added tokens, their look-alikes and fragments.

    python3 gemma4_token_corpus.py --requests > requests.jsonl          # hand-written chat requests
    python3 gemma4_token_corpus.py --corpus rendered.jsonl > corpus.jsonl
    python3 gemma4_token_corpus.py --random-ids N > ids.jsonl

--requests: chat requests (the shape chat_template_cases.py writes) that together use every part of the Gemma 4
template: system and developer turns, tool declarations, tool calls with typed arguments, tool responses,
thinking on and off, reasoning text, image/audio/video parts, with and without the generation prompt.

--corpus: one JSON string per line (ASCII-only JSON). RENDERED holds prompts rendered by jinja2 (one JSON string a
line); the corpus is those prompts, the same prompts with media placeholders expanded the way Gemma4Processor
does (<|image|> -> <|image>  n x <|image|>  <image|>, and likewise for audio and video frames), every added token
alone and in context, look-alikes (near-miss spellings, case, spaces inside, full-width bars, Gemma 3's names,
byte-piece spellings), and seeded random concatenations of tokens, fragments of tokens and ordinary text.

--random-ids: id sequences for decoding: special ids mixed with text ids, byte-fallback runs and random ids.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gemma4_tokenizer import GEMMA4_ADDED  # noqa: E402
from make_tokenizer_corpus import HAND_WRITTEN  # noqa: E402

TOKENS = [content for _, content in GEMMA4_ADDED]
VOCAB_SIZE = 262144


def out(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=True) + "\n")


# ---- chat requests -------------------------------------------------------------------------------------------

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Gets the weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city, e.g. \"Paris\"."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"}, "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["city"]}}}
SEARCH_TOOL = {"type": "function", "function": {
    "name": "search", "description": "Searches the web.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "number"}}}}}


def call(name, args, call_id=None):
    c = {"type": "function", "function": {"name": name, "arguments": args}}
    if call_id:
        c["id"] = call_id
    return c


def requests():
    tool_turns = [
        {"role": "user", "content": "Weather in Paris and \"Zürich\" for 3 days?"},
        {"role": "assistant", "content": "", "reasoning_content": "I should call the tool twice.",
         "tool_calls": [call("get_weather", {"city": "Paris", "days": 3, "hourly": False, "tags": ["a", "b"]}, "c0"),
                        call("get_weather", {"city": "Z\u00fcrich", "unit": "celsius"}, "c1")]},
        {"role": "tool", "tool_call_id": "c0", "name": "get_weather", "content": "{\"temp\": 21, \"sky\": \"sunny\"}"},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "rain <|\"|> 12\u00b0C"},
        {"role": "assistant", "content": "<|channel>thought\nBoth done.<channel|>Paris: 21, sunny. Z\u00fcrich: rain."},
        {"role": "user", "content": "Search for <|tool_call> docs."},
        {"role": "assistant", "content": "", "tool_calls": [call("search", json.dumps({"query": "a \"b\"", "limit": 5}))]},
        {"role": "tool", "name": "search", "content": [{"type": "text", "text": "result one "},
                                                        {"type": "text", "text": "result two"}]},
    ]
    media = [{"type": "text", "text": "Compare "}, {"type": "image"}, {"type": "text", "text": " with "},
             {"type": "image"}, {"type": "audio"}, {"type": "text", "text": " and the clip "}, {"type": "video"}]
    reqs = [
        {"messages": [{"role": "system", "content": "You are terse."}] + tool_turns,
         "tools": [WEATHER_TOOL, SEARCH_TOOL], "enable_thinking": True, "add_generation_prompt": True},
        {"messages": tool_turns, "tools": [WEATHER_TOOL, SEARCH_TOOL], "enable_thinking": False,
         "add_generation_prompt": True},
        {"messages": [{"role": "developer", "content": "Be kind."}] + tool_turns[:4], "tools": [WEATHER_TOOL],
         "enable_thinking": False, "add_generation_prompt": False},
        {"messages": [{"role": "user", "content": media}], "enable_thinking": False, "add_generation_prompt": True},
        {"messages": [{"role": "system", "content": "Describe media."}, {"role": "user", "content": media},
                      {"role": "assistant", "content": "An image, another, a sound and a video."},
                      {"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": "again?"}]}],
         "enable_thinking": True, "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "Say <turn|> and <|turn>model\n literally."}],
         "enable_thinking": True, "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "hi"}], "enable_thinking": False, "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "hi"}], "enable_thinking": True, "add_generation_prompt": False},
    ]
    for r in reqs:
        out(r)


# ---- corpus --------------------------------------------------------------------------------------------------

def expand_media(prompt, rng):
    """Gemma4Processor's expansion of media placeholders (small counts: the tokenizer sees the same pattern)."""
    pieces = []
    i = 0
    while i < len(prompt):
        for placeholder in ("<|image|>", "<|audio|>", "<|video|>"):
            if prompt.startswith(placeholder, i):
                n = rng.randint(1, 12)
                if placeholder == "<|image|>":
                    pieces.append("<|image>" + "<|image|>" * n + "<image|>")
                elif placeholder == "<|audio|>":
                    pieces.append("<|audio>" + "<|audio|>" * n + "<audio|>")
                else:
                    frames = [f"00:{s:02d} <|image>" + "<|video|>" * n + "<image|>" for s in range(rng.randint(1, 3))]
                    pieces.append(" ".join(frames))
                i += len(placeholder)
                break
        else:
            pieces.append(prompt[i])
            i += 1
    return "".join(pieces)


def look_alikes(token):
    """Near misses of one token: none of these may turn into the token itself (except where it stays whole)."""
    inner = token[1:-1]
    variants = [
        token[:-1], token[1:], inner, token[:len(token) // 2], token[len(token) // 2:],
        token.upper(), token.lower(), token.capitalize(),
        "< " + token[1:], token[:-1] + " >", token[:2] + " " + token[2:],
        "<" + token, token + ">", "<<" + token + ">>", token[0] + token,
        token.replace("|", "\uff5c"), token.replace("|", "\u2502"), token.replace("<", "\uff1c"),
        token.replace("|", "||"), token.replace("|", ""), token.replace("<", "</"),
        token[:-1] + "\n>", token + token, token + " " + token, token + "\n" + token,
        token[:-1] + token, token + token[1:],
        "\u2581" + token, token + "\u2581", " " + token + " ", "\n" + token + "\n", "\t" + token,
        "word" + token + "word", "\u65e5\u672c" + token + "\U0001f600",
    ]
    return [v for v in variants if v]


OTHER_LOOK_ALIKES = [
    "<start_of_turn>user\nhi<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>",
    "<unused0>", "<unused40>", "<unused2978>", "[multimodal]", "<|video>", "<video|>", "<|think>", "<think|>",
    "<|turn|>", "<|channel|>", "<|tool|>", "<|tool_call|>", "<|eos|>", "<|bos>", "<eos|>", "<|pad|>",
    "<|\"|", "|\"|>", "<|'|>", "<|\"\"|>", "<|\u201c|>", "<||>", "<|>", "<|", "|>", "<", ">", "|", "<>", "<<>>",
    "<|im_start|>user", "</s>", "<s>", "<0x0A>", "<0xFF><0x00>", "<0x41>", "\u2581\u2581x", "<\u2581bos>",
    "<bos", "bos>", "<BOS>", "<eos >", "< eos>", "<pad><pad><pad>", "<mask>text<mask>", "<unk><unk>",
    "<|image|><|image|><|image|>", "<|image><|image|><image|>", "<|image|image|>", "<|image|>|>", "<<|image|>",
    "<|audio><|audio|><audio|>", "<|audio|audio|>", "<|tool_response>response:f{x:1}<tool_response|>",
    "<|tool_call>call:f{a:<|\"|>s<|\"|>}<tool_call|>", "<|tool_cal>", "<|tool_calls>", "<|tool_response|>",
    "<|tool>declaration:f{}<tool|>", "<|channel>thought\n<channel|>", "<|turn>model\n", "<turn|>\n<|turn>user\n",
]

FRAGMENTS = ["<", "|", ">", "<|", "|>", "\"", "turn", "tool", "_call", "_response", "channel", "think", "image",
             "audio", "video", "bos", "eos", "pad", "mask", "unk", "call:", "response:", "declaration:", "{", "}",
             ":", ",", "thought", "model", "user", "system"]
TEXT_ATOMS = [" ", "  ", "\n", "\n\n", "\n\n\n", "\t", " \n ", "\u2581", "a", "Hello", " world", "x_1", "12345",
              "\u00e9", "\u65e5\u672c\u8a9e", "\U0001f600", "\U0001f44d\U0001f3fd", "\u0645\u0631\u062d\u0628\u0627",
              "\u200b", "\u00a0", "\r\n"]


def fuzz_line(rng, texts):
    parts = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        if r < 0.35:
            parts.append(rng.choice(TOKENS))
        elif r < 0.6:
            parts.append(rng.choice(FRAGMENTS))
        elif r < 0.85:
            parts.append(rng.choice(TEXT_ATOMS))
        else:
            t = rng.choice(texts)
            a = rng.randrange(len(t) + 1)
            parts.append(t[a:a + rng.randint(1, 40)])
    return "".join(parts)


def corpus(rendered_path, seed):
    rng = random.Random(seed)
    with open(rendered_path, encoding="utf-8") as f:
        prompts = [json.loads(line) for line in f if line.strip()]
    lines = list(prompts)
    lines += [expand_media(p, rng) for p in prompts if "<|image|>" in p or "<|audio|>" in p or "<|video|>" in p]
    for token in TOKENS:
        lines += [token, "text " + token + " text", token + "x", "x" + token]
        lines += look_alikes(token)
    lines += OTHER_LOOK_ALIKES
    lines.append("".join(TOKENS))
    lines.append(" ".join(TOKENS))
    texts = [t for t in HAND_WRITTEN if t] + prompts
    lines += [fuzz_line(rng, texts) for _ in range(1500)]
    for line in lines:
        out(line)


# ---- random ids ----------------------------------------------------------------------------------------------

def random_ids(n, seed):
    rng = random.Random(seed)
    special = [i for i, _ in GEMMA4_ADDED]
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.35:
                ids.append(rng.choice(special))
            elif r < 0.55:
                ids.append(238 + rng.randrange(256))  # <0x00>..<0xFF>
            elif r < 0.7:
                ids.append(rng.choice([107, 108, 109, 138, 236743, 9259, 1902, 2364, 4368, 45518]))
            else:
                ids.append(rng.randrange(VOCAB_SIZE))
        out(ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", action="store_true")
    parser.add_argument("--corpus", metavar="RENDERED")
    parser.add_argument("--random-ids", type=int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=44)
    args = parser.parse_args()
    if args.requests:
        requests()
    elif args.corpus:
        corpus(args.corpus, args.seed)
    elif args.random_ids:
        random_ids(args.random_ids, args.seed)
    else:
        parser.error("give --requests, --corpus RENDERED or --random-ids N")


if __name__ == "__main__":
    main()
