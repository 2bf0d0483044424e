// Checks of test_serve_batching.sh with the official `openai` npm client against `gemma4 serve --parallel 3
// --queue 0` on builtin:tiny. Usage: node serve_batching_client.mjs BASE_URL
import OpenAI from "openai";

const baseURL = process.argv[2];
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0, timeout: 60_000 });
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "PASS" : "FAIL"}: ${what}`);
  if (!ok) failures += 1;
}
async function attempt(what, body) {
  try {
    await body();
  } catch (e) {
    check(false, `${what}: ${e?.stack ?? e}`);
  }
}
const messages = [{ role: "user", content: "Tell me a story about a cat." }];
const greedy = { model: "tiny", temperature: 0, max_tokens: 12 };
const close = (a, b) => Math.abs(a - b) <= 1e-4;

await attempt("chat logprobs, whole", async () => {
  const r = await client.chat.completions.create({ ...greedy, messages, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs?.content ?? [];
  const generated = r.usage.completion_tokens - (r.choices[0].finish_reason === "stop" ? 1 : 0);  // the stop token has none
  check(content.length === generated && content.length > 0, `one logprobs entry per generated token (${content.length} of ${generated})`);
  check(content.every((e) => e.top_logprobs.length === 3), "top_logprobs has 3 alternatives each");
  check(content.every((e) => e.logprob <= 0 && Array.isArray(e.bytes)), "log-probabilities <= 0, bytes given");
  check(content.every((e) => e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob && e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob),
        "alternatives most likely first");
  // Greedy: the chosen token is the most likely one.
  check(content.every((e) => e.token === e.top_logprobs[0].token && close(e.logprob, e.top_logprobs[0].logprob)),
        "greedy picks the first alternative");
  const plain = await client.chat.completions.create({ ...greedy, messages });
  check(plain.choices[0].logprobs === null, "no logprobs unless asked");

  const stream = await client.chat.completions.create({ ...greedy, messages, logprobs: true, top_logprobs: 3, stream: true });
  const streamed = [];
  for await (const chunk of stream) {
    for (const choice of chunk.choices) streamed.push(...(choice.logprobs?.content ?? []));
  }
  check(streamed.length === content.length && streamed.every((e, i) => e.token === content[i].token && close(e.logprob, content[i].logprob)),
        `streamed logprobs equal the whole answer's (${streamed.length})`);
});

await attempt("completions logprobs", async () => {
  const r = await client.completions.create({ ...greedy, prompt: "Once upon a time", logprobs: 2 });
  const lp = r.choices[0].logprobs;
  check(lp && lp.tokens.length === lp.token_logprobs.length && lp.tokens.length === lp.top_logprobs.length && lp.tokens.length > 0,
        "tokens, token_logprobs, top_logprobs line up");
  check(lp.top_logprobs.every((top) => Object.keys(top).length <= 2 && Object.keys(top).length >= 1), "at most 2 alternatives per token");
  check(lp.text_offset[0] === 0 && lp.text_offset.every((o, i) => i === 0 || o >= lp.text_offset[i - 1]), "text offsets grow");
});

await attempt("n choices", async () => {
  const r = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 8, temperature: 1, seed: 5, n: 3 });
  check(r.choices.length === 3 && r.choices.every((c, i) => c.index === i), "3 choices, indexed 0..2");
  const again = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 8, temperature: 1, seed: 5, n: 3 });
  check(again.choices.every((c, i) => c.message.content === r.choices[i].message.content), "same seed, same choices");
  const g = await client.chat.completions.create({ ...greedy, messages, n: 2 });
  check(g.choices[0].message.content === g.choices[1].message.content, "greedy choices agree");
  const one = await client.chat.completions.create({ ...greedy, messages });
  check(g.choices[0].message.content === one.choices[0].message.content, "and equal the one-choice answer");
  check(g.usage.completion_tokens === 2 * one.usage.completion_tokens, "usage counts every choice's tokens");

  const stream = await client.chat.completions.create({ ...greedy, messages, n: 2, stream: true });
  const text = ["", ""], finished = [null, null];
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      text[choice.index] += choice.delta?.content ?? "";
      if (choice.finish_reason) finished[choice.index] = choice.finish_reason;
    }
  }
  check(text[0] === one.choices[0].message.content && text[1] === text[0], "streamed choices carry their index");
  check(finished.every((f) => f !== null), "each streamed choice finishes");
});

await attempt("stream_options.include_usage", async () => {
  const whole = await client.completions.create({ ...greedy, prompt: "Once upon a time" });
  const stream = await client.completions.create({ ...greedy, prompt: "Once upon a time", stream: true,
                                                    stream_options: { include_usage: true } });
  let usage = null, last = null;
  for await (const chunk of stream) {
    last = chunk;
    if (chunk.usage) usage = chunk.usage;
  }
  check(usage && last.usage && last.choices.length === 0, "the last chunk has the usage and no choices");
  check(usage && usage.completion_tokens === whole.usage.completion_tokens && usage.prompt_tokens === whole.usage.prompt_tokens,
        "streamed usage equals the whole answer's");
  const without = await client.completions.create({ ...greedy, prompt: "Once upon a time", stream: true });
  let any = false;
  for await (const chunk of without) any ||= Boolean(chunk.usage);
  check(!any, "no usage chunk unless asked");
});

await attempt("429 when the slots and the queue are full", async () => {
  // A prompt whose greedy reply runs to the token limit keeps all 3 slots busy (n = 3) for a while.
  let prompt = null;
  for (const candidate of ["Once upon a time", "The quick brown fox", "In the beginning", "Hello there", "A B C D"]) {
    const r = await client.completions.create({ model: "tiny", prompt: candidate, temperature: 0, max_tokens: 300 });
    if (r.choices[0].finish_reason === "length") { prompt = candidate; break; }
  }
  check(prompt !== null, "a prompt that runs 300 tokens");
  if (!prompt) return;
  const long = await client.completions.create({ model: "tiny", prompt, temperature: 0, max_tokens: 300, n: 3, stream: true });
  const iterator = long[Symbol.asyncIterator]();
  await iterator.next();  // streaming: the 3 slots are taken
  let refused = null;
  try {
    await client.completions.create({ model: "tiny", prompt: "hi", max_tokens: 2 });
  } catch (e) {
    refused = e;
  }
  check(refused?.status === 429, `a fourth sequence gets 429 (${refused?.status ?? "answered"})`);
  const headers = refused?.headers;
  const retryAfter = typeof headers?.get === "function" ? headers.get("retry-after") : headers?.["retry-after"];
  check(Number(retryAfter) >= 1, `with Retry-After (${retryAfter})`);
  check(refused?.error?.code === "server_overloaded", "code server_overloaded");
  while (!(await iterator.next()).done) {}
  const after = await client.completions.create({ model: "tiny", prompt: "hi", max_tokens: 2 });
  check(after.choices.length === 1, "served again once the slots are free");
});

console.log(failures === 0 ? "all batching checks passed" : `${failures} batching checks failed`);
process.exit(failures === 0 ? 0 : 1);
