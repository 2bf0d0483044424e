#!/usr/bin/env python3
"""Random Gemma 4 tool-call turns rendered by the real chat template with Python's jinja2.

    /usr/bin/python3 output_parser_cases.py TEMPLATE_DIR > tests/data/output_parser/jinja_tool_calls.jsonl

Each line is one assistant message with 1-3 tool calls (random nested arguments: dicts, lists, strings with
braces/commas/colons/quotes/newlines/unicode and marker look-alikes, ints, floats, booleans, null, empty
containers), optional thinking and optional content, rendered the way Hugging Face's apply_chat_template does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols). Fields:
  template     the .jinja file used (google-gemma-4-31B-it.jinja or its -interleaved variant)
  text         the model turn as the template writes it, after "<|turn>model\\n" (what a model would output)
  calls_text   google-gemma-4-31B-it.jinja's rendering of the same calls alone, without thinking and content
  calls        [{"name", "arguments_json"}]: the arguments as JSON text in the order given to the template
  content      the visible text the template put in the turn (strip_thinking: trimmed)
  reasoning    the thinking text (trimmed; the template adds the newlines around it)
tests/unit/output_parser_test.cc parses `text` and `calls_text` with gemma4.cpp and compares.
"""
import json
import random
import sys

MAIN = "google-gemma-4-31B-it.jinja"
INTERLEAVED = "google-gemma-4-31B-it-interleaved.jinja"
SPACE = " \t\n\r\f\v"
# The markers that end a call or a string: a string value cannot hold them (see output_parser.h).
FORBIDDEN = ['<|"|>', "<tool_call|>", "<|tool_call>", "<turn|>", "<|turn>", "<|tool_response>"]

NAMES = ["get_weather", "search", "add", "lookup_user", "noop", "ns.tool-x", "a1", "default_api:search"]
KEYS = ["a", "A", "b", "B", "city", "unit", "x_1", "key with space", "ключ", "日本", "emoji🙂", 'quote"d',
        "it's", "a.b", "a-b", "<b>", "$ref", "100", "_", "true", "Z", "z", "mixedCase", "é"]
STRINGS = ["", " ", "Paris", "San Francisco", "with {braces}", "a,b,c", "key: value", 'say "hi"', "it's",
           "back\\slash", "multi\nline\n", "\ttab", "{a:1,b:[2]}", "[1, 2]", "ünïcode", "日本語", "🙂👍🏽",
           "\u2028sep", "<|tool", "<tool_call", "<|\"", "<channel|", "<|channel>inside<channel|>", "<b>x</b>",
           "null", "true", "None", "42", "-1.5e3", "}<", "trailing space ", "  ", "\n"]
ALPHABET = list("abcXYZ019 {}[],:;\"'\\\n\t<|>_-.") + ["é", "日", "🙂", "\u00a0"]
CONTENTS = ["", "Done.", "Let me check the weather.\nOne moment.", "Result: {a:1, b:[2,3]}", "<b>bold</b> text",
            "ünïcode ✓", "a <|tool look-alike", "trailing newline\n", "  padded  "]
THOUGHTS = ["I should call a tool.", "Step 1: look up.\nStep 2: answer.", "Need {json} here, and a, b: c",
            "ünïcode thoughts 🙂"]


def rand_string(rng):
    if rng.random() < 0.5:
        return rng.choice(STRINGS)
    while True:
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24)))
        if not any(m in s for m in FORBIDDEN):
            return s


def rand_key(rng):
    if rng.random() < 0.7:
        return rng.choice(KEYS)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABC_0123456789") for _ in range(rng.randint(1, 10)))


def rand_float(rng):
    r = rng.random()
    if r < 0.3:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    if r < 0.5:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-320, 300)
    if r < 0.7:
        return rng.choice([0.0, -0.0, 0.5, 3.0, 1e16, 1e15, 1e-5, 1e-4, 0.1, 2.5e-7, 1.5e300, 123456789.125,
                           1e22, -2.5, 5e-324, 1.7976931348623157e308])
    return rng.random()


def rand_scalar(rng):
    r = rng.random()
    if r < 0.35:
        return rand_string(rng)
    if r < 0.55:
        return rng.choice([0, 1, -7, 42, -(2 ** 63), 2 ** 63 - 1, 10 ** 12, rng.randint(-10 ** 9, 10 ** 9)])
    if r < 0.75:
        return rand_float(rng)
    if r < 0.9:
        return rng.choice([True, False])
    return None


def rand_value(rng, depth):
    r = rng.random()
    if depth < 4 and r < 0.2:
        return {rand_key(rng): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 4 and r < 0.35:
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rand_scalar(rng)


def rand_arguments(rng):
    args = {}
    for _ in range(rng.randint(0, 5)):
        args[rand_key(rng)] = rand_value(rng, 1)
    return args


def strip_ascii(s):
    # The template trims with Python's str.strip(); the cases stick to texts where that is an ASCII trim.
    assert s.strip() == s.strip(SPACE), repr(s)
    return s.strip(SPACE)


def make_env():
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise RuntimeError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env


def model_turn(template, message):
    text = template.render(messages=[{"role": "user", "content": "Hi"}, message], bos_token="<bos>",
                           eos_token="<eos>", add_generation_prompt=False, enable_thinking=False)
    head = "<|turn>user\nHi<turn|>\n<|turn>model\n"
    assert text.startswith("<bos>" + head), repr(text[:80])
    return text[len("<bos>" + head):]


def main():
    template_dir = sys.argv[1]
    env = make_env()
    templates = {}
    for name in (MAIN, INTERLEAVED):
        with open(f"{template_dir}/{name}", encoding="utf-8") as f:
            templates[name] = env.from_string(f.read())
    rng = random.Random(20260)
    for case in range(400):
        template_name = MAIN if case < 300 else INTERLEAVED
        calls = [{"name": rng.choice(NAMES), "arguments": rand_arguments(rng)} for _ in range(rng.randint(1, 3))]
        tool_calls = [{"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                      for c in calls]
        message = {"role": "assistant", "tool_calls": tool_calls}
        content = rng.choice(CONTENTS) if rng.random() < 0.5 else ""
        reasoning = rng.choice(THOUGHTS) if rng.random() < 0.5 else ""
        if content:
            message["content"] = content
        if reasoning:
            message["reasoning_content"] = reasoning
        calls_only = model_turn(templates[MAIN], {"role": "assistant", "tool_calls": tool_calls})
        assert calls_only.endswith("<|tool_response>"), repr(calls_only[-40:])
        record = {
            "template": template_name,
            "text": model_turn(templates[template_name], message),
            "calls_text": calls_only[:-len("<|tool_response>")],
            "calls": [{"name": c["name"], "arguments_json": json.dumps(c["arguments"], ensure_ascii=False)}
                      for c in calls],
            "content": strip_ascii(content),
            "reasoning": strip_ascii(reasoning),
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
