// The official `openai` npm client against a running `gemma4 serve` (test_openai_client.sh starts it): chat
// completions plain, streamed (raw chunk iteration and the client's own stream accumulator) and with tools,
// the models list, and refusals surfacing as the client's APIError with status 400 and the field named.
// Usage: node test_openai_client.mjs BASE_URL     (e.g. http://127.0.0.1:8080/v1)
import OpenAI from "openai";

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node test_openai_client.mjs BASE_URL");
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0, timeout: 30_000 });
const MARKUP = ["<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", '<|"|>', "<turn|>", "<|turn>", "<|tool_response>"];

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
// The APIError a request is refused with, or null.
async function refusal(request) {
  try {
    await request();
    return null;
  } catch (e) {
    return e;
  }
}

const messages = [{ role: "user", content: "What is the weather in Paris?" }];
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const greedy = { model: "gemma", messages, max_tokens: 8, temperature: 0 };

let plain;
await attempt("plain chat", async () => {
  plain = await client.chat.completions.create(greedy);
  const choice = plain.choices[0];
  check(plain.object === "chat.completion" && plain.id.startsWith("chatcmpl-") && plain.model === "gemma",
    `plain chat: id ${plain.id}, object ${plain.object}, model ${plain.model}`);
  check(choice.message.role === "assistant" && typeof choice.message.content === "string" &&
    ["stop", "length"].includes(choice.finish_reason) && choice.message.tool_calls === undefined,
    `plain chat message ${JSON.stringify(choice.message)}, finish_reason ${choice.finish_reason}`);
  check(plain.usage.prompt_tokens > 0 && plain.usage.total_tokens === plain.usage.prompt_tokens + plain.usage.completion_tokens,
    `usage ${JSON.stringify(plain.usage)}`);
});

await attempt("streamed chat", async () => {
  const stream = await client.chat.completions.create({ ...greedy, stream: true, stream_options: { include_usage: true } });
  let content = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  let role = null;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.object !== "chat.completion.chunk") check(false, `chunk ${chunks} object ${chunk.object}`);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    role ??= choice.delta.role ?? null;
    content += choice.delta.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  check(role === "assistant" && chunks > 2, `streamed chat: ${chunks} chunks, the first delta has role ${role}`);
  check(plain !== undefined && content === plain.choices[0].message.content,
    `streamed content ${JSON.stringify(content)} = plain ${JSON.stringify(plain?.choices[0].message.content)}`);
  check(finish === plain?.choices[0].finish_reason && usage?.completion_tokens === plain?.usage.completion_tokens,
    `streamed finish_reason ${finish}, usage ${JSON.stringify(usage)}`);
});

let withTools;
await attempt("chat with tools", async () => {
  withTools = await client.chat.completions.create({ ...greedy, tools: [weather], tool_choice: "auto", parallel_tool_calls: true });
  const message = withTools.choices[0].message;
  const calls = message.tool_calls ?? [];
  check(["stop", "length", "tool_calls"].includes(withTools.choices[0].finish_reason) &&
    (typeof message.content === "string" || (message.content === null && calls.length > 0)) &&
    calls.every((c) => c.type === "function" && c.id.startsWith("call_") && typeof JSON.parse(c.function.arguments) === "object") &&
    !MARKUP.some((m) => (message.content ?? "").includes(m)),
    `chat with tools: ${JSON.stringify(message)}`);
  check(withTools.usage.prompt_tokens > plain.usage.prompt_tokens,
    `the tool declaration is in the prompt: ${withTools.usage.prompt_tokens} > ${plain.usage.prompt_tokens} tokens`);
  const none = await client.chat.completions.create({ ...greedy, tools: [weather], tool_choice: "none" });
  check(none.usage.prompt_tokens === plain.usage.prompt_tokens,
    `tool_choice none: ${none.usage.prompt_tokens} prompt tokens, as without tools`);
});

await attempt("client stream helper with tools and thinking", async () => {
  // The client's accumulator rejects chunks it cannot assemble (a tool call delta without id or name, ...).
  const runner = client.chat.completions.stream({
    ...greedy, tools: [weather], chat_template_kwargs: { enable_thinking: true }, stream_options: { include_usage: true },
  });
  let deltas = "";
  runner.on("content", (delta) => { deltas += delta; });
  const final = await runner.finalChatCompletion();
  const message = final.choices[0].message;
  check(message.role === "assistant" && typeof (message.content ?? "") === "string" && deltas === (message.content ?? "") &&
    !MARKUP.some((m) => deltas.includes(m) || (message.reasoning_content ?? "").includes(m)),
    `stream helper: final message ${JSON.stringify(message)}, finish_reason ${final.choices[0].finish_reason}`);
});

await attempt("models", async () => {
  const models = [];
  for await (const model of client.models.list()) models.push(model.id);
  check(models.length === 1 && models[0] === "builtin:tiny", `models.list(): ${JSON.stringify(models)}`);
});

const refusals = [
  ["a tool without a name", { tools: [{ type: "function", function: { description: "x" } }] }, "tools[0].function.name"],
  ["a tool name with a space", { tools: [{ type: "function", function: { name: "get weather" } }] }, "tools[0].function.name"],
  ["tool_choice required", { tools: [weather], tool_choice: "required" }, "tool_choice"],
  ["a named tool_choice", { tools: [weather], tool_choice: { type: "function", function: { name: "get_weather" } } }, "tool_choice"],
  ["streamed, bad tools", { tools: [{ type: "code_interpreter" }], stream: true }, "tools[0].type"],
];
for (const [what, fields, param] of refusals) {
  await attempt(what, async () => {
    const e = await refusal(() => client.chat.completions.create({ ...greedy, ...fields }));
    check(e instanceof OpenAI.APIError && e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === param &&
      e.message.includes(param),
      `${what}: ${e?.constructor?.name} status ${e?.status} param ${e?.param} code ${e?.code}: ${e?.message}`);
  });
}

console.log(failures ? `${failures} client checks failed` : "all client checks passed");
process.exit(failures ? 1 : 0);
