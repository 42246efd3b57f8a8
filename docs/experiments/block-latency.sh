#!/bin/sh
# Issue 12: per-token batch-1 latency of PTB exports through the runtime at 1 and 2 threads
# (bench_infer: the same export run dense through OpenBLAS sgemv and through the runtime's measured
# kernel choice, medians over blocks of 50 test tokens), the sparse kernels against dense sgemv
# (bench_sparse), and a whole LSTM step per pattern (topiary profile).  Run it on a quiet machine.
#   sh docs/experiments/block-latency.sh RUNS OUT
# RUNS holds the sessions (each with an export/ made by `topiary export`): ptb-small (the dense
# baseline), c-b16 (prune10x-c-block16x1.tp), c-mask / c-maskb (the baseline pruned to recipe C's
# densities without retraining, unstructured / 16x1 blocks: latency depends on the layout only),
# b80/unstructured and b80/block16x1 (block80-short.sh RUNS/b80 13 1).  Missing ones are skipped.
set -u
R=${1:-runs}
O=${2:-runs/block-latency}
B=${BENCH_INFER:-build/bench/bench_infer}
S=${BENCH_SPARSE:-build/bench/bench_sparse}
T=${TOPIARY:-build/topiary}
D=${DATA:-../shared/data/ptb}
mkdir -p "$O"
lscpu > "$O/lscpu.txt"
for m in ptb-small c-b16 c-mask c-maskb b80/unstructured b80/block16x1; do
    [ -f "$R/$m/export/config.json" ] || { echo "skip $m"; continue; }
    for th in 1 2; do
        echo "== $m threads $th"
        "$B" "$R/$m/export" --threads "$th" --data "$D" --tokens 3000
    done
done > "$O/infer.txt" 2>&1
for r in 1 2 3; do "$S" --quick > "$O/sparse_1t_$r.txt" 2>&1; done
"$S" --threaded 2 --threaded-only --sizes 650,1500 > "$O/sparse_2t.txt" 2>&1
for p in csr sell row block; do
    "$T" profile --backend cpu --sizes 1024 --batch 1 --seq 1 --threads 1 --sparsity 0.9 --pattern "$p" --budget-s 8
done > "$O/profile_step.txt" 2>&1
