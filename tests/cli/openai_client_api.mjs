// The official `openai` npm client against `gemma4 serve` started with an API key (test_serve_api.sh starts
// it): the right key works, a wrong one raises AuthenticationError (401); embeddings.create on an embedding
// model (the client asks for base64 by default and decodes it) matches the expected vectors.
// Usage: node openai_client_api.mjs TINY_URL EMBED_URL KEY EXPECTED_JSON   (URLs end in /v1; EXPECTED_JSON:
// {"inputs": [[ids]...], "embeddings": [[floats]...]})
import OpenAI from "openai";
import { readFileSync } from "node:fs";

const [tinyURL, embedURL, key, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "PASS" : "FAIL"}: ${what}`);
  if (!ok) failures += 1;
}
const options = { maxRetries: 0, timeout: 30_000 };

try {
  const good = new OpenAI({ baseURL: tinyURL, apiKey: key, ...options });
  const models = await good.models.list();
  check(models.data.length === 1, "models.list with the right key");
  const chat = await good.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
  check(chat.choices.length === 1, "chat.completions.create with the right key");
} catch (e) {
  check(false, `right key: ${e?.stack ?? e}`);
}

for (const apiKey of ["wrong-key", key + "0"]) {
  const bad = new OpenAI({ baseURL: tinyURL, apiKey, ...options });
  try {
    await bad.models.list();
    check(false, `a wrong key (${apiKey}) was accepted`);
  } catch (e) {
    check(e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === "invalid_api_key",
          `a wrong key raises AuthenticationError 401 invalid_api_key (${e?.constructor?.name} ${e?.status})`);
  }
}

function maxDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}
try {
  const embed = new OpenAI({ baseURL: embedURL, apiKey: key, ...options });
  const result = await embed.embeddings.create({ model: "embedding", input: expected.inputs });
  check(result.data.length === expected.inputs.length, "embeddings.create returns one vector per input");
  const diffs = result.data.map((d, i) => maxDiff(Array.from(d.embedding), expected.embeddings[i]));
  check(Math.max(...diffs) <= 1e-6, `embeddings.create (base64 by default) matches forward --pooled (max |diff| ${Math.max(...diffs)})`);
  const floats = await embed.embeddings.create({ model: "embedding", input: expected.inputs[0], encoding_format: "float" });
  check(maxDiff(floats.data[0].embedding, expected.embeddings[0]) <= 1e-6, "embeddings.create with encoding_format float");
  check(result.usage.prompt_tokens === expected.inputs.flat().length, "embeddings usage.prompt_tokens");
} catch (e) {
  check(false, `embeddings: ${e?.stack ?? e}`);
}
process.exit(failures ? 1 : 0);
