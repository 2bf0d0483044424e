#!/usr/bin/env node
// Aggregate decode throughput and time to first token for S concurrent streams, one JSON line per S.
//   ours:      node bench/concurrency.mjs --engine ours --url http://127.0.0.1:PORT [--streams 1,2,4,8,16]
//              (streamed /v1/completions against `gemma4 serve --parallel 16`, token ids as the prompt text is
//              not needed: each stream gets its own short random prompt)
//   llama.cpp: node bench/concurrency.mjs --engine llama --model F.gguf [--threads 2]
//              (node-llama-cpp: one context with 16 sequences, S of them evaluated at once; llama.cpp batches
//              the sequences' tokens into one decode call per step)
// Common: --decode 64 (tokens per stream), --prompt 16 (prompt tokens per stream).
import process from "node:process";

const opts = {engine: "ours", url: "", model: "", streams: "1,2,4,8,16", decode: 64, prompt: 16, threads: 2};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in opts)) throw new Error(`concurrency.mjs: unknown option ${argv[i]}`);
    opts[key] = typeof opts[key] === "number" ? parseInt(argv[i + 1], 10) : argv[i + 1];
}
const counts = opts.streams.split(",").map(Number);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
const promptText = (s) => Array.from({length: opts.prompt}, (_, i) => words[(s * 7 + i * 3) % words.length]).join(" ");

// One stream against gemma4 serve: the times its tokens arrived (one SSE chunk per token, or more per chunk).
async function oursStream(s, start) {
    const response = await fetch(`${opts.url}/v1/completions`, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({model: "m", prompt: promptText(s), max_tokens: opts.decode, temperature: 0,
                              stream: true, stream_options: {include_usage: true}}),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", first = 0, tokens = 0;
    for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, cut).replace(/^data: /, "");
            buffer = buffer.slice(cut + 2);
            if (event === "[DONE]") continue;
            const chunk = JSON.parse(event);
            if (!first && chunk.choices?.length) first = now();
            if (chunk.usage) tokens = chunk.usage.completion_tokens;
        }
    }
    return {ttft: first - start, tokens, end: now()};
}

let llamaContext = null, llamaModel = null;
async function llamaStream(s, start, sequence) {
    const tokens = llamaModel.tokenize(promptText(s));
    let first = 0, produced = 0;
    await sequence.clearHistory();
    for await (const token of sequence.evaluate(tokens, {temperature: 0})) {
        void token;
        if (!first) first = now();
        if (++produced >= opts.decode) break;
    }
    return {ttft: first - start, tokens: produced, end: now()};
}

if (opts.engine === "llama") {
    const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");
    const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
                                  progressLogs: false, logLevel: LlamaLogLevel.error});
    llamaModel = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
    const most = Math.max(...counts);
    llamaContext = await llamaModel.createContext({contextSize: most * (opts.prompt + opts.decode + 64),
                                                   sequences: most, threads: opts.threads});
}
const sequences = llamaContext ? counts.length && Array.from({length: Math.max(...counts)}, () => llamaContext.getSequence()) : [];
for (const streams of counts) {
    const start = now();
    const runs = await Promise.all(Array.from({length: streams}, (_, s) =>
        opts.engine === "llama" ? llamaStream(s, start, sequences[s]) : oursStream(s, start)));
    const wall = Math.max(...runs.map((r) => r.end)) - start;
    const tokens = runs.reduce((sum, r) => sum + r.tokens, 0);
    console.log(JSON.stringify({engine: opts.engine === "llama" ? "llama.cpp" : "gemma4.cpp", streams, tokens,
                                aggregate_tok_s: tokens / wall,
                                ttft_mean_s: runs.reduce((sum, r) => sum + r.ttft, 0) / streams}));
}
process.exit(0);
