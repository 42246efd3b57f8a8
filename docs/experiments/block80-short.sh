#!/bin/sh
# Issue 12, done-when 3 (short version): PTB Zaremba small, the LSTM matrices pruned to 80 % with
# 16x1 blocks vs unstructured, same schedule and training budget; exports timed through the runtime.
#   sh docs/experiments/block80-short.sh [RUNS_DIR] [BASE_EPOCHS] [PRUNE_EPOCHS]
# The base session trains BASE_EPOCHS (default 2; Zaremba's 13 for the full baseline), then each copy
# prunes along AGP's cubic over ~half an epoch of steps and trains PRUNE_EPOCHS in all (default 1).
# TOPIARY (default build/topiary), DATA (default ../shared/data/ptb), THREADS (default 1).
set -eu
T=${TOPIARY:-build/topiary}
D=${DATA:-../shared/data/ptb}
R=${1:-runs/block80}
E=${2:-2}
P=${3:-1}
TH=${THREADS:-1}
mkdir -p "$R"
if [ ! -f "$R/base/manifest.json" ]; then
    "$T" train --session "$R/base" --data "$D" --layers 2 --hidden 200 --embed 200 --bptt 20 --batch 20 \
        --epochs "$E" --lr 1 --lr-decay 0.5 --decay-start 4 --clip 5 --init 0.1 --seed 1 --threads "$TH"
fi
"$T" eval --session "$R/base" --split test
steps_per_epoch=2323   # 929,589 training tokens / (bptt 20 x batch 20)
for v in unstructured block16x1; do
    rm -rf "$R/$v"
    cp -r "$R/base" "$R/$v"
    pat=""
    [ "$v" = block16x1 ] && pat="pattern=block block=16x1"
    {
        echo "set lr=0.5 decay_start=100 epochs=$((E + P)) threads=$TH"
        echo "schedule agp from=0 to=0.8 span=1200 every=100 params=l*.w_* $pat"
        echo "train epochs=$P"
        echo "status"
        echo "eval split=valid"
        echo "eval split=test"
        echo "export out=$R/$v/export"
    } > "$R/$v.tp"
    "$T" run "$R/$v.tp" --session "$R/$v"
done
"$T" export --session "$R/base" --out "$R/base/export"
B=${BENCH_INFER:-build/bench/bench_infer}
for v in base unstructured block16x1; do
    echo "== $v"
    "$T" eval --model "$R/$v/export" --split test --data "$D" --json
    for th in 1 2; do "$B" "$R/$v/export" --threads "$th" --data "$D"; done
done
