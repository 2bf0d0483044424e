"""Checks of `gemma4 serve`'s API key, /v1/embeddings and /metrics over plain HTTP (test_serve_api.sh starts
the servers). Expected embeddings come from `gemma4 forward --pooled` on the same model, one sequence at a time,
which runs Backbone::forward without the server's batching, padding or JSON.
Usage: serve_api_checks.py GEMMA4 EMBED_MODEL EMBED_URL TINY_URL KEY"""
import base64
import json
import math
import time
import os
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import numpy as np

GEMMA4, EMBED_MODEL, EMBED_URL, TINY_URL, KEY = sys.argv[1:6]
failures = 0


def check(ok, what):
    global failures
    print(("PASS" if ok else "FAIL") + ": " + what)
    if not ok:
        failures += 1


def call(base, path, body=None, key=KEY, header=None):
    """(status, parsed JSON or text) of one request; body None = GET."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    if header is not None:
        request.add_header("Authorization", header)
    elif key is not None:
        request.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text, kind = response.status, response.read().decode(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, text, kind = e.code, e.read().decode(), e.headers.get("Content-Type", "")
    return status, (json.loads(text) if kind.startswith("application/json") else text)


def is_key_refusal(reply):
    status, body = reply
    return (status == 401 and isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
            and body["error"]["code"] == "invalid_api_key")


# ---- API key ----
check(call(TINY_URL, "/health", key=None)[0] == 200, "GET /health needs no key")
check(is_key_refusal(call(TINY_URL, "/v1/models", key=None)), "GET /v1/models without a key: 401 invalid_api_key")
check(is_key_refusal(call(TINY_URL, "/v1/models", key=KEY + "x")), "a longer wrong key: 401")
check(is_key_refusal(call(TINY_URL, "/v1/models", key=KEY[:-1])), "a prefix of the key: 401")
check(is_key_refusal(call(TINY_URL, "/v1/models", header=KEY)), "the key without 'Bearer ': 401")
check(is_key_refusal(call(TINY_URL, "/metrics", key=None)), "GET /metrics without a key: 401")
check(is_key_refusal(call(TINY_URL, "/no/such/path", key=None)), "an unknown path without a key: 401, not 404")
check(is_key_refusal(call(TINY_URL, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, key="nope")),
      "chat completions with a wrong key: 401")
check(call(TINY_URL, "/v1/models")[0] == 200, "GET /v1/models with the key: 200")
check(call(TINY_URL, "/no/such/path")[0] == 404, "an unknown path with the key: 404")


# ---- /v1/embeddings ----
def reference(tokens):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "pooled.npy")
        subprocess.run([GEMMA4, "forward", "--model", EMBED_MODEL, "--tokens", ",".join(map(str, tokens)),
                        "--pooled", out], check=True, capture_output=True)
        return np.load(out).reshape(-1)


def max_diff(got, want):
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want)))


sequences = [[2, 17, 99, 4, 250, 31, 1], [2, 9], [2, 40, 41, 42, 43]]
expected = [reference(s) for s in sequences]
check(all(e.shape == (16,) and np.all(np.isfinite(e)) for e in expected), "reference embeddings have embedding_dim 16")

status, alone = call(EMBED_URL, "/v1/embeddings", {"input": sequences[0], "model": "m"})
check(status == 200 and alone["object"] == "list" and alone["model"] == "m" and len(alone["data"]) == 1
      and alone["data"][0]["object"] == "embedding" and alone["data"][0]["index"] == 0,
      "one list of token ids: a list of one embedding")
if status == 200:
    d = max_diff(alone["data"][0]["embedding"], expected[0])
    check(d <= 1e-6, f"one sequence equals gemma4 forward --pooled (max |diff| {d:.2e})")
    check(alone["usage"] == {"prompt_tokens": 7, "total_tokens": 7}, "usage counts the tokens")

status, batch = call(EMBED_URL, "/v1/embeddings", {"input": sequences})
check(status == 200 and [d["index"] for d in batch["data"]] == [0, 1, 2], "a batch of three: indices 0, 1, 2")
if status == 200:
    diffs = [max_diff(batch["data"][i]["embedding"], expected[i]) for i in range(3)]
    check(max(diffs) <= 1e-6, f"each of a right-padded batch (lengths 7, 2, 5) equals it alone (max |diff| {max(diffs):.2e})")
    check(batch["usage"]["prompt_tokens"] == 14, "batch usage: 14 tokens")

status, packed = call(EMBED_URL, "/v1/embeddings", {"input": [sequences[1]], "encoding_format": "base64"})
if status == 200 and isinstance(packed["data"][0]["embedding"], str):
    raw = base64.b64decode(packed["data"][0]["embedding"])
    floats = struct.unpack("<%df" % (len(raw) // 4), raw)
    d = max_diff(floats, expected[1])
    check(len(floats) == 16 and d <= 1e-6, f"base64: little-endian float32 of the same vector (max |diff| {d:.2e})")
else:
    check(False, f"base64 encoding: {status} {packed}")

status, body = call(EMBED_URL, "/v1/embeddings", {"input": "hello"})
check(status == 400 and "tokenizer" in body["error"]["message"] and body["error"]["param"] == "input",
      "text input to a model without a tokenizer: 400 naming input")
status, body = call(EMBED_URL, "/v1/embeddings", {"input": [[2, 3], [2, 256]]})
check(status == 400 and body["error"]["param"] == "input[1][1]", "a token id outside the vocabulary: 400 input[1][1]")
status, body = call(EMBED_URL, "/v1/embeddings", {"input": []})
check(status == 400 and body["error"]["param"] == "input", "an empty input list: 400")
status, body = call(EMBED_URL, "/v1/embeddings", {"input": [2], "encoding_format": "int8"})
check(status == 400 and body["error"]["param"] == "encoding_format", "an unknown encoding_format: 400")
status, body = call(EMBED_URL, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
check(status == 400 and "embedding model" in body["error"]["message"], "chat on an embedding model: 400")
status, body = call(TINY_URL, "/v1/embeddings", {"input": [2, 3]})
check(status == 400 and "not an embedding model" in body["error"]["message"],
      "embeddings from a model without a pooling head: 400 not an embedding model")


# ---- /metrics ----
def parse_exposition(text):
    """Prometheus text format 0.0.4 -> ({(name, frozenset(labels)): value}, {name: type}); raises on bad lines."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
                types[parts[2]] = parts[3]
            continue
        name_end = min(i for i in (line.find("{"), line.find(" ")) if i >= 0)
        name, rest = line[:name_end], line[name_end:]
        assert name and all(c.isalnum() or c in "_:" for c in name) and not name[0].isdigit(), line
        labels = {}
        if rest.startswith("{"):
            close = rest.index("}")
            body, rest = rest[1:close], rest[close + 1:]
            i = 0
            while i < len(body):
                eq = body.index("=", i)
                key = body[i:eq]
                assert body[eq + 1] == '"', line
                j, value = eq + 2, ""
                while body[j] != '"':
                    if body[j] == "\\":
                        j += 1
                        value += {"n": "\n"}.get(body[j], body[j])
                    else:
                        value += body[j]
                    j += 1
                labels[key] = value
                i = j + 1
                if i < len(body):
                    assert body[i] == ",", line
                    i += 1
        fields = rest.split()
        assert 1 <= len(fields) <= 2, line
        value = float(fields[0])  # accepts +Inf, NaN
        key = (name, frozenset(labels.items()))
        assert key not in samples, "duplicate series: " + line
        samples[key] = value
    return samples, types


def scrape():
    status, text = call(TINY_URL, "/metrics")
    assert status == 200, (status, text)
    return parse_exposition(text)


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def histogram_ok(samples, name):
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items() if k[0] == name + "_bucket")
    counts = [v for _, v in buckets]
    return (buckets and buckets[-1][0] == math.inf and counts == sorted(counts)
            and counts[-1] == get(samples, name + "_count"))


try:
    before, types = scrape()
    check(types.get("gemma4_requests_total") == "counter" and types.get("gemma4_requests_in_flight") == "gauge"
          and types.get("gemma4_time_to_first_token_seconds") == "histogram"
          and types.get("gemma4_inter_token_seconds") == "histogram", "the exposition parses, with its TYPE lines")
    chat = {"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 6, "seed": 1}
    status, answer = call(TINY_URL, "/v1/chat/completions", chat)
    check(status == 200, "a chat completion for the metrics")
    status, _ = call(TINY_URL, "/v1/completions", {"prompt": "a", "max_tokens": 4, "seed": 2, "stream": True})
    # The server closes its books on a request (the logger's count, the stream's end) just after the client
    # has the last byte: wait, boundedly, until only this scrape is in flight.
    deadline = time.monotonic() + 5
    after, _ = scrape()
    while get(after, "gemma4_requests_in_flight") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        after, _ = scrape()
    usage = answer["usage"]
    generated = usage["completion_tokens"] + 4
    check(get(after, "gemma4_requests_total", endpoint="/v1/chat/completions", status="200")
          == get(before, "gemma4_requests_total", endpoint="/v1/chat/completions", status="200") + 1,
          "requests_total{/v1/chat/completions,200} moved by one")
    check(get(after, "gemma4_requests_total", endpoint="/metrics", status="200")
          == get(before, "gemma4_requests_total", endpoint="/metrics", status="200") + 1, "the scrape itself is counted")
    check(get(after, "gemma4_requests_total", endpoint="other", status="404") >= 1, "unknown paths count as 'other'")
    check(get(after, "gemma4_requests_total", endpoint="/v1/models", status="401") >= 2, "401 refusals are counted")
    grown = get(after, "gemma4_generated_tokens_total") - get(before, "gemma4_generated_tokens_total")
    check(grown == generated, f"generated_tokens_total grew by {grown:g} (expected {generated})")
    prompt_grown = get(after, "gemma4_prompt_tokens_total") - get(before, "gemma4_prompt_tokens_total")
    check(prompt_grown > usage["prompt_tokens"], f"prompt_tokens_total grew by {prompt_grown:g}")
    ttft = get(after, "gemma4_time_to_first_token_seconds_count") - get(before, "gemma4_time_to_first_token_seconds_count")
    check(ttft == 2, f"time_to_first_token observed once per request ({ttft:g})")
    gaps = get(after, "gemma4_inter_token_seconds_count") - get(before, "gemma4_inter_token_seconds_count")
    check(gaps == generated - 2, f"inter_token observed between tokens ({gaps:g}, expected {generated - 2})")
    check(get(after, "gemma4_time_to_first_token_seconds_sum") > 0, "time to first token is positive")
    check(histogram_ok(after, "gemma4_time_to_first_token_seconds") and histogram_ok(after, "gemma4_inter_token_seconds"),
          "histogram buckets are cumulative and end in +Inf = _count")
    check(get(after, "gemma4_requests_in_flight") == 1, "in flight during a scrape: the scrape alone")
except Exception as e:  # a parse error is a failure of the test, with its line
    check(False, f"metrics: {e!r}")

sys.exit(1 if failures else 0)
