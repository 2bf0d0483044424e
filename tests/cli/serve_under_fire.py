"""`gemma4 serve` under hostile and heavy traffic, on loopback (used by test_serve_hostile.sh and soak_serve.sh).

  hostile PORT PID CONTEXT   slowloris, oversized and endless headers, invalid UTF-8, JSON bombs, thousands of
                             connections opened and dropped, clients vanishing mid-stream, a prompt at the context
                             limit; after each, a valid request must be answered correctly and quickly
  soak PORT PID SECONDS      64 clients mixing valid (plain and streamed), malformed and abandoned requests;
                             every valid answer must equal the reference, the server's RSS growth after warm-up
                             must stay under the bound, and the server must stay up
Exit status 1 on any failure. Figures go to stdout (RSS in MiB, counts)."""
import http.client
import json
import os
import random
import socket
import sys
import threading
import time

failures = []


def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def request(port, method, path, body=None, timeout=60, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    response = conn.getresponse()
    out = response.status, response.read()
    conn.close()
    return out


CHAT = {"messages": [{"role": "user", "content": "Say something."}], "max_tokens": 8, "temperature": 0}


def chat_text(port, timeout=120):
    status, body = request(port, "POST", "/v1/chat/completions", CHAT, timeout=timeout)
    if status != 200:
        return status, None
    return status, json.loads(body)["choices"][0]["message"]["content"]


def stream_text(port, abandon_after=None, timeout=120):
    """A streamed chat; with abandon_after, the socket is closed after that many bytes (a client that vanishes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(dict(CHAT, stream=True, max_tokens=8 if abandon_after is None else 400)),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    if abandon_after is not None:
        response.read(abandon_after)
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        return response.status, None
    text = ""
    for line in response.read().decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            choice = json.loads(line[6:])["choices"]
            if choice and choice[0].get("delta", {}).get("content"):
                text += choice[0]["delta"]["content"]
    conn.close()
    return response.status, text


def raw(port, data, read=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return b"<reset>"
    finally:
        s.close()


def canary(port, reference, what, limit_s=30):
    start = time.monotonic()
    status, text = chat_text(port, timeout=limit_s)
    seconds = time.monotonic() - start
    check(status == 200 and text == reference and seconds < limit_s,
          f"{what}: a valid request is still answered correctly ({seconds:.1f} s)")


def hostile(port, pid, context):
    status, reference = chat_text(port)
    check(status == 200 and reference is not None, f"reference answer: {reference!r}")
    rss_start = rss_mib(pid)

    # Slowloris: 24 connections trickling a header byte at a time, kept open while others are served.
    stop = threading.Event()

    def trickle():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set():
                s.sendall(b"X")
                time.sleep(1.0)
        except OSError:
            pass

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(24)]
    for t in threads:
        t.start()
    time.sleep(2)
    canary(port, reference, "24 slowloris connections open")
    stop.set()

    # One header line of 64 KiB (httplib refuses lines over 8 KiB), and 4 MiB of 1 KiB header lines.
    out = raw(port, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
    check(b" 200 " not in out.split(b"\r\n")[0], f"a 64 KiB header line is refused ({out[:40]!r})")
    many = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 1000) for i in range(4096)) + b"\r\n"
    raw(port, many)
    canary(port, reference, "oversized headers")

    # Invalid UTF-8 and JSON bombs.
    status, body = request(port, "POST", "/v1/chat/completions",
                           b'{"messages": [{"role": "user", "content": "\xff\xfe bad"}], "max_tokens": 2}')
    check(status == 400, f"invalid UTF-8 in the body -> {status} {body[:120]!r}")
    status, body = request(port, "POST", "/v1/chat/completions", b"[" * 200000 + b"]" * 200000)
    check(status == 400, f"JSON nested 200000 deep -> {status} {body[:100]!r}")
    status, body = request(port, "POST", "/v1/chat/completions",
                           json.dumps(dict(CHAT, temperature=0)).replace('"temperature": 0', '"temperature": 1e999999').encode())
    check(status == 400, f"a number of a million digits' exponent -> {status} {body[:100]!r}")
    status, body = request(port, "POST", "/v1/chat/completions", b'{"messages": "' + b"7" * 6_000_000 + b'"}')
    check(status == 400, f"a 6 MB string where a list belongs -> {status}")
    canary(port, reference, "JSON bombs")

    # Thousands of connections opened and dropped: bare, after a partial request, after a full request.
    for i in range(3000):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 3 == 1:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"mess")
            elif i % 3 == 2:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        except OSError:
            pass
    canary(port, reference, "3000 connections opened and dropped")

    # Clients that vanish mid-stream: the generation must stop and free the model for the next request.
    for _ in range(5):
        stream_text(port, abandon_after=200)
    canary(port, reference, "5 streams abandoned mid-way", limit_s=30)
    status, text = stream_text(port)
    check(status == 200 and text == reference, f"a streamed request equals the plain one ({text!r})")

    # A prompt at the context limit: the longest accepted prompt fills the context, one token more is a 400.
    longest, refused = None, None
    for words in range(1, context + 2):
        body = {"prompt": "a " * words, "max_tokens": 1, "temperature": 0}
        status, reply = request(port, "POST", "/v1/completions", body)
        if status == 200:
            longest = json.loads(reply)["usage"]["prompt_tokens"]
        else:
            refused = (status, reply)
            break
    check(longest is not None and refused is not None and refused[0] == 400 and b"context" in refused[1],
          f"prompt at the limit: up to {longest} prompt tokens answered (context {context}), then {refused and refused[0]} "
          f"{refused and refused[1][:120]!r}")
    check(longest is not None and longest >= context - 1, f"the longest accepted prompt ({longest}) reaches the context")
    canary(port, reference, "prompts at the context limit")

    # CORS is off: no Access-Control-* header, not even to a preflight request from another origin.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("OPTIONS", "/v1/chat/completions", headers={"Origin": "http://elsewhere.example",
                                                             "Access-Control-Request-Method": "POST"})
    r = conn.getresponse()
    r.read()
    cors = [h for h, _ in r.getheaders() if h.lower().startswith("access-control")]
    conn.close()
    check(not cors, f"CORS off: a preflight from another origin gets {r.status} and no Access-Control headers {cors}")

    rss_end = rss_mib(pid)
    print(f"RSS: {rss_start:.1f} MiB before, {rss_end:.1f} MiB after the hostile traffic")
    check(rss_end - rss_start < 256, f"RSS grew {rss_end - rss_start:.1f} MiB (bound 256 MiB)")
    check(alive(pid), "the server is still running")


def soak(port, pid, seconds):
    status, reference = chat_text(port)
    check(status == 200 and reference is not None, f"reference answer: {reference!r}")
    deadline = time.monotonic() + seconds
    counts = {"valid": 0, "stream": 0, "wrong": 0, "malformed": 0, "abandoned": 0, "dropped": 0, "errors": 0}
    lock = threading.Lock()
    errors = []

    def client(index):
        rng = random.Random(index)
        while time.monotonic() < deadline:
            kind = rng.choice(["valid", "valid", "stream", "malformed", "abandoned", "dropped"])
            try:
                if kind == "valid":
                    status, text = chat_text(port, timeout=300)
                    ok = status == 200 and text == reference
                elif kind == "stream":
                    status, text = stream_text(port, timeout=300)
                    ok = status == 200 and text == reference
                elif kind == "malformed":
                    status, _ = request(port, "POST", "/v1/chat/completions",
                                        rng.choice([b"{", b'{"messages": 3}', b"\xff" * 50, b"[" * 5000]), timeout=60)
                    ok = status == 400
                elif kind == "abandoned":
                    stream_text(port, abandon_after=rng.randrange(1, 300), timeout=300)
                    ok = True
                else:
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 500\r\n\r\n{")
                    s.close()
                    ok = True
            except Exception as e:  # noqa: BLE001 - any failure of a client is recorded
                ok = False
                with lock:
                    errors.append(f"{kind}: {e!r}")
            with lock:
                counts[kind] += 1
                if not ok:
                    counts["errors"] += 1
                    if len(errors) < 20:
                        errors.append(f"{kind}: wrong answer")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(64)]
    start = time.monotonic()
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - start, rss_mib(pid)))
        time.sleep(2)
    for t in threads:
        t.join()
    warm = [r for t, r in samples if t >= seconds * 0.2] or [samples[-1][1]]
    growth = max(warm) - warm[0]
    print(f"soak: {seconds} s, 64 clients, requests {json.dumps(counts)}")
    print(f"soak: RSS {samples[0][1]:.1f} MiB at start, {warm[0]:.1f} MiB after warm-up, peak {max(r for _, r in samples):.1f} "
          f"MiB, end {samples[-1][1]:.1f} MiB; growth after warm-up {growth:.1f} MiB")
    for e in errors[:20]:
        print("  client error:", e)
    check(counts["errors"] == 0, f"every request answered as expected ({counts['errors']} not)")
    check(counts["valid"] + counts["stream"] > 0, "valid requests were served")
    check(growth < 64, f"RSS growth after warm-up {growth:.1f} MiB (bound 64 MiB)")
    check(alive(pid), "the server is still running")


if __name__ == "__main__":
    mode, port, pid, arg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    (hostile if mode == "hostile" else soak)(port, pid, arg)
    sys.exit(1 if failures else 0)
