#!/usr/bin/env node
// llama.cpp oracle runner (node-llama-cpp 3.22.1, CPU prebuilt binary, nothing downloaded or built).
//
//   node llama_run.mjs logits   --model F.gguf --tokens 2,17,300 --out L.npy [--one-by-one] [--threads N]
//   node llama_run.mjs generate --model F.gguf --tokens 2,17,300 --n 32 [--out STEP_LOGITS.npy] [--stop-ids 1]
//
// logits:   writes float32 .npy [T, vocab]: the raw logits (after the final soft-cap) predicting the token after
//           each input position. Default: all tokens in one batch; --one-by-one feeds one token per decode call
//           (exercises llama.cpp's KV-cache decode path).
// generate: greedy decoding by argmax over the raw logits (no sampler touches them: no repetition penalty, no
//           temperature, no top-k). Prints the generated ids, comma-separated, as the only line on stdout.
//           --out writes the logits each choice was made from ([n, vocab]); --stop-ids stops after emitting one of
//           the given ids (default: never stop early).
// Common:   --threads N (default 2), --kv-type F32|F16 (default F32), --flash-attention (default off),
//           --context-size N (default: enough for the tokens), --tokens-file F (ids separated by commas/whitespace).
// Everything except the result goes to stderr.

import fs from "node:fs";
import process from "node:process";

function usage(msg) {
    if (msg) process.stderr.write(`llama_run.mjs: ${msg}\n`);
    process.stderr.write(
        "usage: llama_run.mjs logits|generate --model F.gguf --tokens a,b,c [--out F.npy] [--n N] [--one-by-one]\n" +
        "       [--threads N] [--kv-type F32|F16] [--flash-attention] [--context-size N] [--stop-ids a,b]\n");
    process.exit(2);
}

function parseArgs(argv) {
    const mode = argv[0];
    if (mode !== "logits" && mode !== "generate") usage(`unknown mode ${mode ?? "(none)"}`);
    const opts = {mode, threads: 2, kvType: "F32", flashAttention: false, oneByOne: false, n: 32, stopIds: []};
    const flags = new Set(["--one-by-one", "--flash-attention", "--verbose"]);
    for (let i = 1; i < argv.length; i++) {
        const a = argv[i];
        if (flags.has(a)) {
            if (a === "--one-by-one") opts.oneByOne = true;
            if (a === "--flash-attention") opts.flashAttention = true;
            if (a === "--verbose") opts.verbose = true;
            continue;
        }
        const v = argv[++i];
        if (v === undefined) usage(`missing value for ${a}`);
        switch (a) {
            case "--model": opts.model = v; break;
            case "--tokens": opts.tokens = parseIds(v); break;
            case "--tokens-file": opts.tokens = parseIds(fs.readFileSync(v, "utf8")); break;
            case "--out": opts.out = v; break;
            case "--threads": opts.threads = parseInt(v, 10); break;
            case "--n": opts.n = parseInt(v, 10); break;
            case "--kv-type": opts.kvType = v.toUpperCase(); break;
            case "--context-size": opts.contextSize = parseInt(v, 10); break;
            case "--stop-ids": opts.stopIds = parseIds(v); break;
            default: usage(`unknown option ${a}`);
        }
    }
    if (!opts.model) usage("--model is required");
    if (!opts.tokens || opts.tokens.length === 0) usage("--tokens (or --tokens-file) is required");
    if (opts.mode === "logits" && !opts.out) usage("--out is required for logits");
    return opts;
}

function parseIds(s) {
    return s.split(/[\s,]+/).filter(x => x.length > 0).map(x => {
        const n = Number(x);
        if (!Number.isInteger(n) || n < 0) usage(`bad token id '${x}'`);
        return n;
    });
}

function writeNpyF32(path, data, shape) {
    const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
    const pre = 10;
    let hdr = dict;
    const total = pre + hdr.length + 1;
    hdr += " ".repeat((64 - (total % 64)) % 64) + "\n";
    const head = Buffer.alloc(pre);
    head.write("\x93NUMPY", 0, "latin1");
    head.writeUInt8(1, 6);
    head.writeUInt8(0, 7);
    head.writeUInt16LE(hdr.length, 8);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(path, Buffer.concat([head, Buffer.from(hdr, "latin1"), body]));
}

function rowFromMap(logitsMap, nVocab) {
    if (logitsMap.size !== nVocab) throw new Error(`logits cover ${logitsMap.size} tokens, vocab is ${nVocab}`);
    const row = new Float32Array(nVocab).fill(NaN);
    for (const [tok, val] of logitsMap) {
        if (tok >= 0 && tok < nVocab) row[tok] = val;
    }
    return row;
}

function argmax(row) {
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const log = (m) => process.stderr.write(`[llama_run] ${m}\n`);
    const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");
    const llama = await getLlama({
        gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
        logLevel: opts.verbose ? LlamaLogLevel.debug : LlamaLogLevel.warn,
        logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}${message.endsWith("\n") ? "" : "\n"}`),
    });
    const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
    const embd = model.fileInfo?.tensorInfo?.find(t => t.name === "token_embd.weight");
    const nVocab = Number(embd?.dimensions?.[1] ?? NaN);
    if (!Number.isInteger(nVocab) || nVocab <= 0) throw new Error("cannot determine the vocabulary size (token_embd.weight)");
    const T = opts.tokens.length;
    for (const t of opts.tokens) if (t >= nVocab) throw new Error(`token id ${t} >= vocab size ${nVocab}`);
    const needed = T + (opts.mode === "generate" ? opts.n : 0) + 1;
    const contextSize = opts.contextSize ?? Math.max(64, Math.ceil(needed / 64) * 64);
    const context = await model.createContext({
        contextSize,
        batchSize: Math.max(T, 1),
        threads: opts.threads,
        flashAttention: opts.flashAttention,
        experimentalKvCacheKeyType: opts.kvType,
        experimentalKvCacheValueType: opts.kvType,
        sequences: 1,
    });
    const seq = context.getSequence();
    log(`model ${opts.model}: vocab ${nVocab}, context ${contextSize}, kv ${opts.kvType}, ` +
        `flash_attn ${opts.flashAttention}, threads ${opts.threads}`);

    const want = {generateNext: {logits: true}};
    if (opts.mode === "logits") {
        const out = new Float32Array(T * nVocab);
        const put = (i, res) => {
            if (!res?.next?.logits) throw new Error(`no logits returned for position ${i}`);
            out.set(rowFromMap(res.next.logits, nVocab), i * nVocab);
        };
        if (opts.oneByOne) {
            for (let i = 0; i < T; i++) {
                const res = await seq.controlledEvaluate([[opts.tokens[i], want]]);
                put(i, res[0]);
            }
        } else {
            const res = await seq.controlledEvaluate(opts.tokens.map(t => [t, want]));
            for (let i = 0; i < T; i++) put(i, res[i]);
        }
        let nonFinite = 0;
        for (const v of out) if (!Number.isFinite(v)) nonFinite++;
        writeNpyF32(opts.out, out, [T, nVocab]);
        log(`wrote ${opts.out} [${T}, ${nVocab}]${nonFinite ? `, ${nonFinite} NON-FINITE values` : ""}`);
        if (nonFinite) process.exitCode = 3;
    } else {
        const generated = [];
        const stepLogits = [];
        // prompt in one batch, logits only for the last position
        const items = opts.tokens.map((t, i) => (i === T - 1 ? [t, want] : t));
        let res = await seq.controlledEvaluate(items);
        let row = rowFromMap(res[T - 1].next.logits, nVocab);
        for (let step = 0; step < opts.n; step++) {
            const tok = argmax(row);
            generated.push(tok);
            stepLogits.push(row);
            if (opts.stopIds.includes(tok) || step === opts.n - 1) break;
            res = await seq.controlledEvaluate([[tok, want]]);
            row = rowFromMap(res[0].next.logits, nVocab);
        }
        if (opts.out) {
            const all = new Float32Array(stepLogits.length * nVocab);
            stepLogits.forEach((r, i) => all.set(r, i * nVocab));
            writeNpyF32(opts.out, all, [stepLogits.length, nVocab]);
        }
        process.stdout.write(generated.join(",") + "\n");
    }
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    process.stderr.write(`llama_run.mjs: error: ${e?.stack ?? e}\n`);
    process.exit(1);
});
