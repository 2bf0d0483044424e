#!/usr/bin/env node
// llama.cpp logits for many models in one process (node-llama-cpp's prebuilt CPU binary), to spare a
// process start and backend load per model; the same settings as `llama_run.mjs logits` (all tokens in one
// batch, F32 KV cache, flash attention off, raw logits after the final soft-cap).
//
//   node llama_logits_batch.mjs --tokens 2,17,300 [--threads N] MODEL.gguf=OUT.npy [MODEL.gguf=OUT.npy ...]
//
// Writes float32 .npy [T, vocab] per model; exits 1 on the first failure. Logs go to stderr.
import fs from "node:fs";
import process from "node:process";

function writeNpyF32(path, data, shape) {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}), }`;
    header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
    const head = Buffer.alloc(10);
    head.write("\x93NUMPY", 0, "latin1");
    head.writeUInt8(1, 6);
    head.writeUInt8(0, 7);
    head.writeUInt16LE(header.length, 8);
    fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, "latin1"),
                                          Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
    const args = process.argv.slice(2);
    let tokens = null, threads = 2;
    const jobs = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--tokens") tokens = args[++i].split(",").map(Number);
        else if (args[i] === "--threads") threads = parseInt(args[++i], 10);
        else if (args[i].includes("=")) jobs.push(args[i].split("="));
        else throw new Error(`unknown argument ${args[i]}`);
    }
    if (!tokens || jobs.length === 0) throw new Error("usage: --tokens a,b,c MODEL=OUT.npy ...");
    const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");
    const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
                                  progressLogs: false, logLevel: LlamaLogLevel.warn});
    const T = tokens.length;
    for (const [modelPath, out] of jobs) {
        const model = await llama.loadModel({modelPath, gpuLayers: 0});
        const embd = model.fileInfo?.tensorInfo?.find(t => t.name === "token_embd.weight");
        const nVocab = Number(embd?.dimensions?.[1] ?? NaN);
        const context = await model.createContext({
            contextSize: Math.max(64, Math.ceil((T + 1) / 64) * 64), batchSize: T, threads, flashAttention: false,
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", sequences: 1});
        const want = {generateNext: {logits: true}};
        const res = await context.getSequence().controlledEvaluate(tokens.map(t => [t, want]));
        const logits = new Float32Array(T * nVocab).fill(NaN);
        for (let i = 0; i < T; i++) {
            const map = res[i]?.next?.logits;
            if (!map || map.size !== nVocab) throw new Error(`${modelPath}: no logits for position ${i}`);
            for (const [tok, val] of map) logits[i * nVocab + tok] = val;
        }
        writeNpyF32(out, logits, [T, nVocab]);
        process.stderr.write(`[llama_logits_batch] ${modelPath} -> ${out}\n`);
        await context.dispose();
        await model.dispose();
    }
    await llama.dispose();
}

main().catch((e) => {
    process.stderr.write(`llama_logits_batch.mjs: error: ${e?.stack ?? e}\n`);
    process.exit(1);
});
