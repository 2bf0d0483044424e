// The load of test_serve_load.sh on loopback (plain fetch, server-sent events read by hand):
//   1. each of 8 prompts alone, one at a time: the reference greedy texts;
//   2. ROUNDS rounds of 32 concurrent streaming clients (prompt i % 8): every text equals its reference, no
//      error but deliberate 429s (retried after Retry-After, at most 20 times), the server's RSS sampled;
//   3. 8 clients that hang up after their first chunk: /metrics must show no busy slot and an empty queue
//      within 5 s.
// Prints one JSON line {rss_after_warmup_kib, rss_end_kib, ...}; exits 1 on any failed check.
// Usage: node serve_load_client.mjs BASE_URL SERVER_PID ROUNDS
import { readFileSync } from "node:fs";

const [base, pid, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const prompts = Array.from({ length: 8 }, (_, i) => `Request ${i}: tell me about the number ${i * 7 + 3}.`);
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "PASS" : "FAIL"}: ${what}`);
  if (!ok) failures += 1;
};
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One streamed chat completion: its text, or {status} for a refusal. `hangUp`: abort after the first chunk.
async function stream(prompt, { hangUp = false, maxTokens = 24 } = {}) {
  const controller = new AbortController();
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: prompt }], temperature: 0,
                           max_tokens: maxTokens, stream: true }),
    signal: controller.signal,
  });
  if (response.status !== 200) return { status: response.status, retryAfter: Number(response.headers.get("retry-after")) };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", text = "", done = false, error = null;
  while (!done) {
    const { value, done: end } = await reader.read();
    if (end) break;
    if (hangUp) {
      controller.abort();
      return { status: 200, aborted: true };
    }
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut).replace(/^data: /, "");
      buffer = buffer.slice(cut + 2);
      if (event === "[DONE]") { done = true; break; }
      const chunk = JSON.parse(event);
      if (chunk.error) error = chunk.error;
      for (const choice of chunk.choices ?? []) text += choice.delta?.content ?? "";
    }
  }
  return { status: 200, text, error, done };
}

// Retries 429s after the Retry-After the server sends (bounded).
async function streamRetrying(prompt, stats) {
  for (let attempt = 0; attempt < 20; ++attempt) {
    const result = await stream(prompt);
    if (result.status !== 429) return result;
    stats.refused += 1;
    await sleep(1000 * Math.max(1, result.retryAfter || 1) * (0.5 + Math.random()));
  }
  return { status: 429, text: null };
}

async function metric(name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : NaN;
}

const reference = [];
for (const prompt of prompts) reference.push((await stream(prompt)).text);
check(reference.every((t) => typeof t === "string"), "reference texts");

const stats = { refused: 0, requests: 0, errors: 0, mismatches: 0 };
let rssAfterWarmup = 0;
const started = Date.now();
for (let round = 0; round < rounds; ++round) {
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) => streamRetrying(prompts[i % 8], stats)));
  results.forEach((r, i) => {
    stats.requests += 1;
    if (r.status !== 200 || r.error || !r.done) stats.errors += 1;
    else if (r.text !== reference[i % 8]) stats.mismatches += 1;
  });
  if (round === 0) rssAfterWarmup = rss();
}
const rssEnd = rss();
check(stats.errors === 0, `no errors but deliberate 429s (${stats.errors} of ${stats.requests}; ${stats.refused} 429s retried)`);
check(stats.mismatches === 0, `every stream's greedy text equals the same request alone (${stats.mismatches} differ)`);

const tokensBefore = await metric("gemma4_generated_tokens_total");
const hangUps = await Promise.all(Array.from({ length: 8 }, (_, i) => stream(prompts[i], { hangUp: true, maxTokens: 400 }).catch(() => ({ aborted: true }))));
check(hangUps.every((r) => r.aborted || r.status === 429), "8 clients hung up mid-stream");
let busy = NaN, queued = NaN;
for (let i = 0; i < 50; ++i) {
  busy = await metric("gemma4_slots_busy");
  queued = await metric("gemma4_queue_depth");
  if (busy === 0 && queued === 0) break;
  await sleep(100);
}
check(busy === 0 && queued === 0, `no slot left busy after the hang-ups (busy ${busy}, queued ${queued})`);
// Cancelled within a step or two of the hang-up, not run to their 400-token limit.
const hangUpTokens = (await metric("gemma4_generated_tokens_total")) - tokensBefore;
check(hangUpTokens < 8 * 100, `the hung-up streams stopped early (${hangUpTokens} tokens for 8 streams of up to 400)`);
const inFlight = await metric("gemma4_requests_in_flight");
check(inFlight <= 1, `no request left in flight (${inFlight}, this scrape included)`);

console.log(JSON.stringify({ rss_after_warmup_kib: rssAfterWarmup, rss_end_kib: rssEnd, seconds: (Date.now() - started) / 1000, ...stats }));
process.exit(failures === 0 ? 0 : 1);
