#!/usr/bin/env python3
"""Compares gemma4's Jinja interpreter with Python's jinja2 on real chat templates.

For every template in tests/data/chat_templates, renders a fixed-seed set of random chat requests with
jinja2 built exactly as Hugging Face transformers' `_compile_jinja_template` builds it
(src/transformers/utils/chat_template_utils.py: ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols]), the `tojson` override, and the
`raise_exception` / `strftime_now` globals), and with gemma4's `render_template --batch`. Every case must
produce byte-identical text, or both must raise.

  jinja_corpus.py RENDER_TEMPLATE_BINARY TEMPLATE_DIR [--cases N] [--seed S] [--only NAME] [--verbose]

Exit status 0 when every template agrees on every case.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import datetime

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = 1767225600 + 13 * 3600 + 7 * 60  # 2026-01-01 13:07 UTC: a fixed clock for strftime_now on both sides


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker with tracking off: {% generation %}body{% endgeneration %} -> body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.fromtimestamp(NOW).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


# ---- random chat requests --------------------------------------------------------------------------------

WORDS = ["hello", "world", "weather", "Paris", "the", "a", "quick", "brown", "fox", "jumps", "over", "lazy",
         "dog", "naïve", "café", "日本語", "données", "😀", "Ünïcödé", "x", "42", "3.14", "<b>bold</b>", "a&b",
         "'quoted'", "\"dq\"", "{braces}", "[list]", "back\\slash", "tab\there", "Привет", "مرحبا", "ß", "İ"]
NAMES = ["get_weather", "search", "calculate", "send_email", "lookup_user", "run_code"]


def text(rng, lo=1, hi=12):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    s = " ".join(words)
    r = rng.random()
    if r < 0.1:
        s = "  " + s + " \n"
    elif r < 0.2:
        s = s + "\n\n" + " ".join(rng.choice(WORDS) for _ in range(3))
    elif r < 0.25:
        s = "\n" + s
    return s


def json_value(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice([rng.randint(-5, 1000), rng.choice([0.5, 2.0, 1e-7, 3.25, -1.5, 1e21]), True, False,
                           None, text(rng, 1, 3), ""])
    if r < 0.6:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "b", "key", "nested", "q", "description", "type", "value"]) + str(i):
            json_value(rng, depth + 1) for i in range(rng.randint(0, 3))}


def schema(rng, depth=0):
    kind = rng.choice(["string", "integer", "number", "boolean", "array", "object"] if depth < 2 else
                      ["string", "integer", "boolean"])
    s = {"type": kind}
    if rng.random() < 0.8:
        s["description"] = text(rng, 1, 6)
    if kind == "string" and rng.random() < 0.3:
        s["enum"] = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    if kind == "array":
        s["items"] = schema(rng, depth + 1)
    if kind == "object":
        props = {}
        for i in range(rng.randint(0, 3)):
            props[rng.choice(["x", "y", "opts", "mode", "description", "type", "id"]) + str(i)] = schema(rng, depth + 1)
        s["properties"] = props
        if props and rng.random() < 0.5:
            s["required"] = rng.sample(sorted(props), rng.randint(1, len(props)))
    if rng.random() < 0.1:
        s["nullable"] = True
    if rng.random() < 0.1:
        s["default"] = json_value(rng, 2)
    return s


def tool(rng, name):
    props = {}
    for i in range(rng.randint(0, 4)):
        pname = rng.choice(["location", "query", "unit", "count", "options", "description", "type", "flag"])
        props[pname if pname not in props else pname + str(i)] = schema(rng)
    params = {"type": "object", "properties": props}
    if props and rng.random() < 0.7:
        params["required"] = rng.sample(sorted(props), rng.randint(1, len(props)))
    fn = {"name": name, "description": text(rng, 2, 10), "parameters": params}
    if rng.random() < 0.1:
        fn["response"] = {"type": "object", "description": text(rng, 1, 4)}
    return {"type": "function", "function": fn}


def content(rng, allow_parts=True):
    r = rng.random()
    if allow_parts and r < 0.15:
        parts = []
        for _ in range(rng.randint(1, 3)):
            k = rng.random()
            if k < 0.6:
                parts.append({"type": "text", "text": text(rng)})
            elif k < 0.8:
                parts.append({"type": "image"})
            else:
                parts.append({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}})
        return parts
    return text(rng)


def tool_call(rng, names, i):
    args = {}
    for k in range(rng.randint(0, 3)):
        args[rng.choice(["location", "query", "unit", "count", "options", "nested"]) + str(k)] = json_value(rng)
    call = {"type": "function", "id": "call_%d_%d" % (i, rng.randint(0, 999)),
            "function": {"name": rng.choice(names),
                         "arguments": json.dumps(args) if rng.random() < 0.25 else args}}
    return call


def conversation(rng):
    msgs = []
    tools = None
    names = NAMES
    if rng.random() < 0.4:
        tools = [tool(rng, n) for n in rng.sample(NAMES, rng.randint(1, 3))]
        names = [t["function"]["name"] for t in tools]
    r = rng.random()
    if r < 0.45:
        msgs.append({"role": "system", "content": content(rng)})
    elif r < 0.5:
        msgs.append({"role": "developer", "content": text(rng)})
    turns = rng.randint(1, 4)
    for t in range(turns):
        msgs.append({"role": "user", "content": content(rng)})
        last = t == turns - 1
        if last and rng.random() < 0.6:
            break
        if rng.random() < 0.3:
            calls = [tool_call(rng, names, k) for k in range(rng.randint(1, 2))]
            a = {"role": "assistant", "content": rng.choice([None, "", text(rng)]), "tool_calls": calls}
            if rng.random() < 0.4:
                a["reasoning_content"] = text(rng)
            msgs.append(a)
            for c in calls:
                res = json.dumps(json_value(rng)) if rng.random() < 0.5 else text(rng)
                m = {"role": "tool", "content": res, "tool_call_id": c["id"]}
                if rng.random() < 0.7:
                    m["name"] = c["function"]["name"]
                msgs.append(m)
            if rng.random() < 0.5:
                continue
        a = {"role": "assistant", "content": content(rng, allow_parts=rng.random() < 0.3)}
        k = rng.random()
        if k < 0.25:
            a["reasoning_content"] = text(rng)
        elif k < 0.35:
            a["thinking"] = text(rng)
        elif k < 0.45 and isinstance(a["content"], str):
            a["content"] = "<think>" + text(rng) + "</think>" + a["content"]
        msgs.append(a)
        if rng.random() < 0.08:
            msgs.append({"role": "assistant", "content": text(rng)})
    ctx = {"messages": msgs, "tools": tools, "documents": None,
           "add_generation_prompt": rng.random() < 0.6,
           "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    for key, values in (("enable_thinking", [True, False]), ("preserve_thinking", [True, False]),
                        ("reasoning_effort", ["low", "high"]), ("keep_past_thinking", [True])):
        if rng.random() < 0.5:
            ctx[key] = rng.choice(values)
    return ctx


def cases(count, seed):
    rng = random.Random(seed)
    out = [conversation(rng) for _ in range(count)]
    # A few fixed shapes every template should handle.
    out.append({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True,
                "bos_token": "<s>", "eos_token": "</s>", "tools": None})
    out.append({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Hello!"}], "add_generation_prompt": False,
                "bos_token": "<s>", "eos_token": "</s>", "tools": None, "enable_thinking": False})
    return out


def render_py(tpl, ctx):
    try:
        return True, tpl.render(**ctx)
    except Exception as e:  # jinja2 and Python errors alike: the template rejects this request
        return False, "%s: %s" % (type(e).__name__, e)


def first_diff(a, b):
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    lo = max(0, i - 60)
    return "at char %d:\n      jinja2: %r\n      gemma4: %r" % (i, a[lo:i + 60], b[lo:i + 60])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("template_dirs", nargs="+")
    ap.add_argument("--cases", type=int, default=150)
    ap.add_argument("--seed", type=int, default=20260709)
    ap.add_argument("--only")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    all_cases = cases(args.cases, args.seed)
    paths = {f: os.path.join(d, f) for d in args.template_dirs for f in os.listdir(d) if f.endswith(".jinja")}
    names = sorted(paths)
    if args.only:
        names = [n for n in names if args.only in n]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        cases_path = os.path.join(tmp, "cases.jsonl")
        with open(cases_path, "w", encoding="utf-8") as f:
            for c in all_cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        for name in names:
            path = paths[name]
            with open(path, encoding="utf-8") as f:
                source = f.read()
            try:
                tpl = compile_template(source)
                compile_error = None
            except Exception as e:
                tpl, compile_error = None, "%s: %s" % (type(e).__name__, e)
            run = subprocess.run([args.binary, "--batch", path, cases_path, "--now", str(NOW)],
                                 capture_output=True, timeout=600)
            if run.returncode != 0:
                failed.append(name)
                print("FAIL %s: render_template exited %d: %s" % (name, run.returncode, run.stderr.decode()[-500:]))
                continue
            ours = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
            if len(ours) != len(all_cases):
                failed.append(name)
                print("FAIL %s: %d results for %d cases" % (name, len(ours), len(all_cases)))
                continue
            mismatches = []
            rendered = raised = 0
            for i, (ctx, got) in enumerate(zip(all_cases, ours)):
                ok, want = (False, compile_error) if tpl is None else render_py(tpl, ctx)
                if ok:
                    rendered += 1
                else:
                    raised += 1
                if ok != got["ok"]:
                    mismatches.append("case %d: jinja2 %s, gemma4 %s" % (
                        i, "rendered" if ok else "raised (%s)" % want[:200],
                        "rendered" if got["ok"] else "raised (%s)" % got["error"][:300]))
                elif ok and want != got["text"]:
                    mismatches.append("case %d: text differs %s" % (i, first_diff(want, got["text"])))
            status = "ok  " if not mismatches else "FAIL"
            print("%s %-55s %3d rendered, %3d raised in both%s" % (
                status, name, rendered - sum(1 for m in mismatches if "text differs" in m), raised,
                "" if not mismatches else ", %d mismatches" % len(mismatches)))
            if mismatches:
                failed.append(name)
                for m in mismatches[: (20 if args.verbose else 2)]:
                    print("     " + m)
    print("%d of %d templates agree with jinja2 on all %d cases" % (len(names) - len(failed), len(names), len(all_cases)))
    if failed:
        print("failing: " + " ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
