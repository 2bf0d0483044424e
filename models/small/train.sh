#!/usr/bin/env bash
# Reproduces builtin:small (docs/builtin_small.md) end to end from Debian's bible-kjv package:
#   corpus (prepare_corpus.py) -> vocabulary (tools/train_vocab, libsentencepiece) -> random initialisation of
#   architecture.json (gemma4 make-test-model) -> full-weight training (gemma4 finetune --full) -> export to this
#   folder as bfloat16 (gemma4 convert) -> held-out evaluation (evaluate.py) and the greedy sample the tests pin.
#
#   bash models/small/train.sh [BUILD_DIR]          (BUILD_DIR default: build)
#
# Environment: WORK (scratch folder, default /tmp/gemma4_small_train), STEPS, LR, BATCH, SEQ, WARMUP, EVAL_EVERY,
# CHECKPOINT_EVERY, STAGE2_STEPS (0: no stage 2), STAGE2_LR (the training schedule; defaults are the committed run's), SKIP_TRAIN=1 (export and evaluate
# the last checkpoint of an earlier run, e.g. one stopped early with Ctrl-C), EXPORT=0 (leave models/small alone).
# Needs: apt-get install bible-kjv (the corpus), the gemma4 CLI and train_vocab built in BUILD_DIR
# (ninja -C build gemma4_cli train_vocab).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
GEMMA4=$BUILD/bin/gemma4
TRAIN_VOCAB=$BUILD/bin/train_vocab
PYTHON=/usr/bin/python3
WORK=${WORK:-/tmp/gemma4_small_train}
STEPS=${STEPS:-1000}
LR=${LR:-3e-3}
BATCH=${BATCH:-4}
SEQ=${SEQ:-256}
WARMUP=${WARMUP:-50}
EVAL_EVERY=${EVAL_EVERY:-250}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-100}
STAGE2_STEPS=${STAGE2_STEPS:-1500}
STAGE2_LR=${STAGE2_LR:-1.5e-3}
VOCAB=4096
SEED=1
PROMPT="Psalms 23"   # the README's first command: a chapter name, as the chat-form training data has them

die() { echo "train.sh: $*" >&2; exit 1; }
command -v bible >/dev/null || die "bible not found: apt-get install bible-kjv"
[ -x "$GEMMA4" ] || die "$GEMMA4 not found: ninja -C $BUILD gemma4_cli"
[ -x "$TRAIN_VOCAB" ] || die "$TRAIN_VOCAB not found: ninja -C $BUILD train_vocab"
mkdir -p "$WORK"
log() { echo "[$(date +%H:%M:%S)] $*"; }

log "corpus -> $WORK/corpus"
"$PYTHON" "$HERE/prepare_corpus.py" "$WORK/corpus"

log "vocabulary ($VOCAB pieces) -> $WORK/vocab"
"$TRAIN_VOCAB" --input "$WORK/corpus/train.txt" --vocab-size $VOCAB --out "$WORK/vocab" --threads 2 \
  --chat-template "$ROOT/src/text/templates/gemma4-e-series.jinja"

# One training stage: finetune --full from INIT into OUT_RUN (OUT_RUN/model is the trained Hugging Face folder).
train_stage() {  # train_stage NAME INIT OUT_RUN STEPS LR WARMUP SEED
  local name=$1 init=$2 run=$3 steps=$4 lr=$5 warmup=$6 seed=$7
  log "$name: $steps steps of $BATCH x $SEQ tokens from $init, lr $lr (warm-up $warmup, cosine to 0.1x), seed $seed"
  "$GEMMA4" finetune --model "$init" --full --data "$WORK/corpus/train.jsonl" --eval "$WORK/corpus/eval.jsonl" \
    --steps "$steps" --lr "$lr" --batch $BATCH --seq-len $SEQ --warmup "$warmup" --min-lr-ratio 0.1 \
    --weight-decay 0.01 --clip 1.0 --eval-every $EVAL_EVERY --checkpoint-every $CHECKPOINT_EVERY \
    --seed "$seed" --print-every 10 --out "$run" 2>&1 | tee "$run.log"
  # The trained folder lacks the chat template (tokenizer_config.json); the next stage's chat data needs it.
  cp "$WORK/vocab/tokenizer_config.json" "$HERE/generation_config.json" "$run/model/"
}

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  log "random initialisation of architecture.json -> $WORK/init"
  rm -rf "$WORK/init" "$WORK/run" "$WORK/run2"
  "$GEMMA4" make-test-model --config "$HERE/architecture.json" --out "$WORK/init" --seed $SEED --embedding-std 0.02
  cp "$WORK/vocab/tokenizer.json" "$WORK/vocab/tokenizer.model" "$WORK/vocab/tokenizer_config.json" \
     "$HERE/generation_config.json" "$WORK/init/"
  # The trainer's evaluation loss (every EVAL_EVERY steps) on the first 12 held-out chapters, to keep it cheap;
  # evaluate.py below scores all 59.
  head -n 12 "$WORK/corpus/heldout.jsonl" >"$WORK/corpus/eval.jsonl"
  # Stage 1 from random weights; stage 2 continues from its weights with fresh AdamW moments, a lower peak and
  # a new data order (the two were one plan: stage 1 alone had to fit a loaded machine's hour).
  train_stage "stage 1" "$WORK/init" "$WORK/run" $STEPS $LR $WARMUP $SEED
  [ "$STAGE2_STEPS" = 0 ] || train_stage "stage 2" "$WORK/run/model" "$WORK/run2" $STAGE2_STEPS $STAGE2_LR 20 $((SEED + 1))
fi

FINAL=$WORK/run
[ -d "$WORK/run2/model" ] && FINAL=$WORK/run2
[ -d "$FINAL/model" ] || die "no trained model in $FINAL/model"
OUT=$HERE
[ "${EXPORT:-1}" = 1 ] || OUT=$WORK/export
log "export (bfloat16) -> $OUT"
rm -rf "$WORK/export_tmp"
"$GEMMA4" convert --model "$FINAL/model" --to hf "$WORK/export_tmp" --type bf16
mkdir -p "$OUT"
cp "$WORK/export_tmp/config.json" "$WORK/export_tmp/model.safetensors" "$OUT/"
cp "$WORK/vocab/tokenizer.json" "$WORK/vocab/tokenizer.model" "$WORK/vocab/tokenizer_config.json" "$OUT/"
[ "$OUT" = "$HERE" ] || cp "$HERE/generation_config.json" "$OUT/"
mkdir -p "$ROOT/tests/data/builtin_small"
cp "$WORK/corpus/heldout_sample.txt" "$ROOT/tests/data/builtin_small/"

log "held-out evaluation"
"$PYTHON" "$HERE/evaluate.py" --gemma4 "$GEMMA4" --model "$OUT" --train "$WORK/corpus/train.jsonl" \
  --heldout "$WORK/corpus/heldout.jsonl" | tee "$WORK/evaluation.json"

log "greedy sample for '$PROMPT' -> tests/data/builtin_small/greedy.json"
bash "$HERE/greedy_sample.sh" "$GEMMA4" "$OUT" "$PROMPT" "$ROOT/tests/data/builtin_small/greedy.json"
log "done"
