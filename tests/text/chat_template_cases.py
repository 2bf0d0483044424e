#!/usr/bin/env python3
"""Random Gemma 4 chat requests, and their rendering by the real Jinja template with Python's jinja2.

    python3 chat_template_cases.py --cases N [--seed S] > requests.jsonl
    python3 chat_template_cases.py --render TEMPLATE.jinja < requests.jsonl > expected.jsonl

A request is {"messages": [...], "tools": [...], "enable_thinking": bool, "add_generation_prompt": bool} in
the OpenAI chat shape (what `gemma4 tokenize --chat` reads). Rendering follows Hugging Face's
apply_chat_template: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols),
bos_token "<bos>". Tool-call arguments given as a JSON *string* holding an object are turned into that object
first, as llama.cpp and gemma4.cpp do before rendering (the template itself would print the string as is).
"""
import argparse
import json
import random
import sys

TEXTS = [
    "Hello", "What is the capital of France?", "Paris.", "Write a haiku about the sea.",
    "  padded with spaces  ", "\n\nleading newlines", "trailing newlines\n\n", "\ttabbed\t",
    "\u3000ideographic space\u3000", "\xa0no-break\xa0", "\u2028line separator\u2029", "\x1cfile sep\x1f",
    "multi\nline\n\ntext", "emoji 🙂👍🏽", "日本語のテキスト", "مرحبا", "code: `x = 1`\n```py\nprint(1)\n```",
    "<b>html</b>", "<|turn>inner<turn|>", "a <|channel>not closed", "", " ", "\n",
]
THOUGHTS = ["<|channel>thought\nLet me think.<channel|>", "<|channel>thought\nStep 1\nStep 2\n<channel|>",
            "<|channel>a<channel|><|channel>b<channel|>", "<channel|>stray close", "<|channel>only open"]
NAMES = ["get_weather", "search", "add", "lookup_user", "noop"]


def rand_text(rng):
    return rng.choice(TEXTS)


def rand_model_text(rng):
    t = rand_text(rng)
    if rng.random() < 0.4:
        t = rng.choice(THOUGHTS) + t
    if rng.random() < 0.2:
        t = t + rng.choice(THOUGHTS)
    return t


def rand_scalar(rng):
    return rng.choice([0, 1, -7, 42, 10 ** 12, 3.0, 0.1, -2.5, 1e-7, 1.5e300, 123456789.125, 1e16, 12345.678e10,
                       True, False, None, "text", "", "with \"quotes\"", "ünïcode", "multi\nline"])


def rand_value(rng, depth=0):
    r = rng.random()
    if depth < 2 and r < 0.2:
        return {rng.choice(["b", "A", "a", "Z", "key", "Key", "x_1"]) + str(i): rand_value(rng, depth + 1)
                for i in range(rng.randint(0, 3))}
    if depth < 2 and r < 0.35:
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rand_scalar(rng)


def rand_content(rng, model):
    if rng.random() < 0.25:
        parts = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(["text", "text", "image", "audio", "video"])
            if kind == "text":
                parts.append({"type": "text", "text": rand_model_text(rng) if model else rand_text(rng)})
            else:
                parts.append({"type": kind})
        return parts
    return rand_model_text(rng) if model else rand_text(rng)


def rand_schema(rng, depth=0):
    kind = rng.choice(["string", "STRING", "integer", "number", "boolean", "array", "object"])
    s = {"type": kind}
    if rng.random() < 0.7:
        s["description"] = rng.choice(["A value.", "The city, e.g. \"Paris\".", "Ünïcode description", ""])
    if kind.lower() == "string" and rng.random() < 0.4:
        s["enum"] = rng.sample(["celsius", "fahrenheit", "kelvin", "x"], rng.randint(1, 3))
    if kind == "array" and rng.random() < 0.8:
        items = {"type": rng.choice(["string", "object", ["string", "null"], "integer"])}
        if rng.random() < 0.5 and depth < 2:
            items["properties"] = {f"p{i}": rand_schema(rng, depth + 1) for i in range(rng.randint(1, 2))}
            items["required"] = ["p0"]
        if rng.random() < 0.3:
            items["description"] = "item"
        if rng.random() < 0.2:
            items["maxItems"] = 3
        s["items"] = items
    if kind == "object" and depth < 2:
        if rng.random() < 0.7:
            s["properties"] = {f"f{i}": rand_schema(rng, depth + 1) for i in range(rng.randint(1, 3))}
            if rng.random() < 0.5:
                s["required"] = ["f0"]
        elif rng.random() < 0.5:
            s["extra"] = {"type": "string"}
    if rng.random() < 0.2:
        s["nullable"] = True
    return s


def rand_tool(rng, name):
    fn = {"name": name}
    if rng.random() < 0.9:
        fn["description"] = rng.choice(["Gets the weather.", "Searches the web for a query.", "Adds numbers.", ""])
    if rng.random() < 0.85:
        params = {"type": "object", "properties": {
            rng.choice(["location", "query", "a", "B", "unit", "count"]) + str(i): rand_schema(rng)
            for i in range(rng.randint(0, 4))}}
        if params["properties"] and rng.random() < 0.6:
            params["required"] = list(params["properties"])[:rng.randint(1, len(params["properties"]))]
        if rng.random() < 0.1:
            del params["type"]
        fn["parameters"] = params
    if rng.random() < 0.15:
        fn["response"] = {"type": rng.choice(["object", "string"]), "description": rng.choice(["", "The result."])}
    return {"type": "function", "function": fn}


def rand_request(rng):
    messages = []
    first = rng.random()
    if first < 0.35:
        messages.append({"role": "system", "content": rand_text(rng) or "You are helpful."})
    elif first < 0.45:
        messages.append({"role": "developer", "content": rand_text(rng)})
    tools = [rand_tool(rng, n) for n in rng.sample(NAMES, rng.randint(1, 3))] if rng.random() < 0.3 else []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.4:
            messages.append({"role": "user", "content": rand_content(rng, False)})
        elif r < 0.7:
            messages.append({"role": "assistant", "content": rand_content(rng, True)})
        elif r < 0.9:
            calls = []
            for k in range(rng.randint(1, 2)):
                args = {f"arg{i}": rand_value(rng) for i in range(rng.randint(0, 3))}
                if rng.random() < 0.3:
                    args = json.dumps(args)  # OpenAI style: arguments as JSON text
                call = {"type": "function", "function": {"name": rng.choice(NAMES), "arguments": args}}
                if rng.random() < 0.7:
                    call["id"] = f"call_{k}"
                calls.append(call)
            m = {"role": "assistant", "content": rand_model_text(rng) if rng.random() < 0.4 else "",
                 "tool_calls": calls}
            if rng.random() < 0.5:
                m["reasoning_content"] = rng.choice(["I should call a tool.", "Thinking\nabout it"])
            messages.append(m)
            for k in range(rng.randint(0, len(calls) + 1)):
                t = {"role": "tool", "content": rng.choice(["{\"temp\": 21}", "sunny", "", "42", "ü"])}
                if rng.random() < 0.7:
                    t["tool_call_id"] = f"call_{k}"
                # (the template fails on a tool message without "name" whose id matches no call)
                t["name"] = rng.choice(NAMES)
                if rng.random() < 0.2:
                    t["content"] = [{"type": "text", "text": "part one "}, {"type": "text", "text": "part two"}]
                messages.append(t)
        else:
            messages.append({"role": "system", "content": rand_text(rng)})
    req = {"messages": messages, "enable_thinking": rng.random() < 0.3, "add_generation_prompt": rng.random() < 0.8}
    if tools:
        req["tools"] = tools
    return req


def render_all(template_path):
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise RuntimeError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    with open(template_path, encoding="utf-8") as f:
        template = env.from_string(f.read())
    for line in sys.stdin:
        req = json.loads(line)
        for m in req["messages"]:
            for call in m.get("tool_calls") or []:
                args = call["function"].get("arguments")
                if isinstance(args, str):
                    try:
                        parsed = json.loads(args)
                        if isinstance(parsed, dict):
                            call["function"]["arguments"] = parsed
                    except ValueError:
                        pass
        text = template.render(messages=req["messages"], tools=req.get("tools"), bos_token="<bos>",
                               eos_token="<eos>", add_generation_prompt=req.get("add_generation_prompt", True),
                               enable_thinking=req.get("enable_thinking", False))
        sys.stdout.write(json.dumps(text, ensure_ascii=True) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=0)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--render", metavar="TEMPLATE")
    args = parser.parse_args()
    if args.render:
        render_all(args.render)
        return
    rng = random.Random(args.seed)
    for _ in range(args.cases):
        sys.stdout.write(json.dumps(rand_request(rng), ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
