#!/usr/bin/env bash
# The greedy sample tests/unit/builtin_small_test.cc and tests/oracle/test_builtin_small_llama.sh pin: the prompt as
# `gemma4 generate --prompt` renders it (the model's chat template, one user turn), 48 greedy tokens, their text.
#
#   bash models/small/greedy_sample.sh GEMMA4_BIN MODEL_DIR PROMPT OUT.json
set -euo pipefail
GEMMA4=$1 MODEL=$2 PROMPT=$3 OUT=$4
N=48
request=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"messages": [{"role": "user", "content": sys.argv[1]}]}))' "$PROMPT")
prompt_ids=$(printf '%s\n' "$request" | "$GEMMA4" tokenize --model "$MODEL" --chat)
ids=$("$GEMMA4" generate --model "$MODEL" --prompt "$PROMPT" --max-tokens $N --temperature 0 --print-ids | tail -1)
/usr/bin/python3 - "$GEMMA4" "$MODEL" "$PROMPT" "$prompt_ids" "$ids" "$OUT" <<'PY'
import json, subprocess, sys
gemma4, model, prompt, prompt_ids, ids, out = sys.argv[1:7]
ids = [int(x) for x in ids.split(",")]
# GenerationResult.text leaves out a stop token that ended generation (<eos> 1, <turn|> 16, <|tool_response> 9).
text_ids = ids[:-1] if ids and ids[-1] in (1, 16, 9) else ids
text = json.loads(subprocess.run([gemma4, "tokenize", "--tokenizer", model, "--decode"], input=json.dumps(text_ids),
                                 text=True, capture_output=True, check=True).stdout)
with open(out, "w", encoding="utf-8") as f:
    fields = {"prompt": prompt, "prompt_ids": json.loads(prompt_ids), "greedy_ids": ids, "text": text}
    f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "\n}\n")
print(text)
PY
