#!/usr/bin/env bash
# bench/infer_models.sh [OUTDIR]: the pruned-model rows of README's inference table, reproducible.
#
# For a 2x200 and a 2x650 char-level LSTM on the bundled corpus: train 400 minibatches, prune the
# LSTM matrices and the decoder 90 % (`prune ratio=0.9 params=l*.w_*,decoder.weight`), retrain 150,
# export, check that `eval --model` (the runtime on model.compact.safetensors) gives the session's
# test perplexity, and time a token at batch 1 through the runtime against the same export run
# dense (bench/bench_infer, 1 and 2 BLAS threads). Deterministic seeds; a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
TOPIARY=${TOPIARY:-./build/topiary}
BENCH=${BENCH:-./build/bench/bench_infer}
out=${1:-${TMPDIR:-/tmp}/topiary-infer-models}
[ -x "$TOPIARY" ] && [ -x "$BENCH" ] || { echo "build first: make all build/bench/bench_infer" >&2; exit 2; }
mkdir -p "$out"
printf 'prune ratio=0.9 params=l*.w_*,decoder.weight\ntrain steps=150\n' >"$out/prune.tp"
for H in 200 650; do
    S=$out/s$H E=$out/e$H
    rm -rf "$S" "$E"
    echo "== 2x$H: train 400 steps, prune 90 %, retrain 150, export"
    "$TOPIARY" train --session "$S" --hidden "$H" --max-steps 400 >/dev/null
    "$TOPIARY" run "$out/prune.tp" --session "$S" >/dev/null
    "$TOPIARY" export --session "$S" --out "$E" >/dev/null
    echo "model.safetensors $(stat -c %s "$E/model.safetensors") B, model.compact.safetensors $(stat -c %s "$E/model.compact.safetensors") B"
    ppl() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print("test ppl %.6g (%s)" % (d["ppl"], d.get("runtime", "session")))'; }
    echo "eval --session: $("$TOPIARY" eval --session "$S" --split test --json | ppl)"
    echo "eval --model:   $("$TOPIARY" eval --model "$E" --split test --json | ppl)"
    "$TOPIARY" eval --model "$E" --split test | grep '^runtime:' || true
    for t in 1 2; do "$BENCH" "$E" --threads "$t" | sed -n '/median_us/,/W_hh\|sell \|csr \|row /p'; done
done
