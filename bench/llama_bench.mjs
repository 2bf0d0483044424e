#!/usr/bin/env node
// The llama.cpp side of bench/side_by_side.sh (node-llama-cpp 3.22.1, CPU prebuilt, llama.cpp defaults for
// the KV cache and attention). Measures what `gemma4 bench` measures and prints one JSON object:
//   load to first token; prefill = one batch of N random tokens from an empty cache until the first
//   sampled token; decode = greedy (temperature 0, sampled natively) steps after a short prompt.
//
//   node bench/llama_bench.mjs --model F.gguf [--prefill 512] [--decode 64] [--prompt 16] [--threads 2] [--repeat 3]
import fs from "node:fs";
import process from "node:process";

const opts = {prefill: 512, decode: 64, prompt: 16, threads: 2, repeat: 3};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (key === "model") opts.model = argv[i + 1];
    else if (key in opts) opts[key] = parseInt(argv[i + 1], 10);
    else throw new Error(`llama_bench.mjs: unknown option ${argv[i]}`);
}
if (!opts.model) throw new Error("llama_bench.mjs: --model is required");

// A small seeded generator, so every run feeds the same kind of random ids.
function randomTokens(count, vocab, seed) {
    let state = BigInt(seed) * 6364136223846793005n + 1442695040888963407n;
    const out = [];
    for (let i = 0; i < count; i++) {
        state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
        out.push(3 + Number((state >> 33n) % BigInt(vocab - 3)));
    }
    return out;
}
const median = (v) => { const s = [...v].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const now = () => Number(process.hrtime.bigint()) / 1e9;
const peakRss = () => {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
};

const loadStart = now();
const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
                              progressLogs: false, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
const vocab = Number(model.fileInfo.tensorInfo.find(t => t.name === "token_embd.weight").dimensions[1]);
const contextSize = Math.ceil((Math.max(opts.prefill, opts.prompt + opts.decode) + 8) / 256) * 256;
const context = await model.createContext({contextSize, batchSize: Math.max(opts.prefill, opts.prompt, 1),
                                           threads: opts.threads, sequences: 1});
const sequence = context.getSequence();

// Runs `tokens` from an empty cache; returns the times at which each of `steps` tokens was sampled.
async function generate(tokens, steps) {
    await sequence.clearHistory();
    const times = [];
    const start = now();
    let produced = 0;
    for await (const token of sequence.evaluate(tokens, {temperature: 0})) {
        void token;
        times.push(now());
        if (++produced >= steps) break;
    }
    return {start, times};
}

await generate([2], 1);
const loadSeconds = now() - loadStart;

const prefillRates = [], decodeRates = [];
for (let r = 0; r < opts.repeat; r++) {
    if (opts.prefill > 0) {
        const {start, times} = await generate(randomTokens(opts.prefill, vocab, 100 + r), 1);
        prefillRates.push(opts.prefill / (times[0] - start));
    }
    if (opts.decode > 0) {
        const {times} = await generate(randomTokens(opts.prompt, vocab, 200 + r), opts.decode + 1);
        decodeRates.push(opts.decode / (times[times.length - 1] - times[0]));
    }
}
const result = {
    engine: "llama.cpp", model: opts.model, threads: opts.threads, first_token_s: loadSeconds,
    prefill_tokens: opts.prefill, prefill_tok_s: prefillRates.length ? median(prefillRates) : 0,
    decode_tokens: opts.decode, decode_tok_s: decodeRates.length ? median(decodeRates) : 0,
    peak_rss_bytes: peakRss(), prefill_runs: prefillRates, decode_runs: decodeRates,
};
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(result) + "\n");
