#!/usr/bin/env bash
# bench/bench_an4.sh: the AN4 speech benchmark (issue 15): a dense baseline and a grow-and-prune
# compressed copy of it, with WER, CER, parameters, non-zeros and batch-1 time per second of audio.
#
#   1. trains the baseline session OUT/baseline unless it exists, one BLAS thread, Adam 1e-3,
#      SpecAugment 2x8 bands + 2x20 frames (`topiary train --task an4 ...`; the options are below):
#        --recipe large (default): 2 bidirectional LSTM layers of 256 over one strided convolution,
#          dropout 0.3 on the layers' outputs, 60 epochs, the rate x0.92 an epoch after epoch 30
#          (test WER 9.44 % in 36 min on one core of an AMD EPYC shared with other runs);
#        --recipe small: the task's default 2x128, dropout 0.2, 100 epochs, x0.95 after epoch 40
#          (12.16 % in 20 min);
#   2. copies it to OUT/gp and runs bench/an4_gp.tp there (seven global magnitude prunings of the
#      LSTM matrices and the decoder to 87 %, a gradient growth step and pruning back, fine-tuning;
#      journaled: `topiary replay --verify` repeats it);
#   3. evaluates both on the test split with greedy decoding (`topiary eval --json`): WER, CER; and
#      through the inference runtime (`topiary eval --runtime --json`), whose WER and CER must be the same;
#   4. measures the batch-1 forward per second of test audio through the inference runtime
#      (build/bench/bench_infer_asr: every test utterance, 3 reps, the model run dense -- every matrix
#      dense sgemv -- and with the runtime's kernels, each alone in its process (--only: BLAS's
#      threads woken by the dense run would spin beside the runtime's); medians) at 1 and 2 threads;
#   5. writes OUT/results.tsv: name, wer, cer, params, nnz, dense_ms_1t, runtime_ms_1t, speedup_1t,
#      dense_ms_2t, runtime_ms_2t, speedup_2t (ms per second of audio).  These replace the earlier
#      ms_per_audio_s_1t/_2t columns (the eval's wall time through the training code's forward).
#
#   bash bench/bench_an4.sh [--out DIR] [--data AN4DIR] [--recipe large|small] [--epochs E]
#                           [--gp finetune|scratch] [--gp-hidden H] [--gp-sparsity S]
#                           [--gp-block 16x1|8x1|4x4] [--gp-average N] [--seed S]
#                           [--base-average N] [--only baseline|gp] [--measure-only] [--quick]
#
# --gp scratch: instead of step 2, trains OUT/gp from scratch with bench/an4_gp_scratch.tp (the
# recipe's options, --hidden H when --gp-hidden is given, 100 epochs, the rate x0.94 after epoch 55):
# eight dense epochs, ten global prunings on a cubic ramp to S (default 0.87), the GP step, fifty
# epochs of fine-tuning. A wider model pruned further can hold as few non-zeros as the narrow one.
# --gp-block RxC: prune and grow whole RxC blocks (scratch only), the layout that runs faster.
# --gp-average N: (scratch only) average the weights of the last 25 epochs, every N-th minibatch
# (`average start every=N`), print the valid and test WER of the weights and of the mean, and make
# the mean the model (`average apply`).
# --seed S: the seed of both trainings (init, dropout, SpecAugment, batch order; default 1).
# --base-average N: the same for the baseline: its last 25 epochs averaged, both scored, the mean
# applied (the baseline then runs as a script, `topiary run`, instead of `topiary train`).
# --only baseline|gp: train that session only and stop (the other trained apart, e.g. on the other
# core; seeds side by side).
#
# --measure-only: train nothing; steps 3-5 on the OUT/baseline and OUT/gp already there (an earlier
# run, or the two trained side by side, one per core, with the options steps 1-2 use).
#
# --quick: 32 utterances per split, 1 epoch, a 2x32 model and a short script (the smoke test).
# make bench-an4-train runs it with the defaults (out bench/out/an4, data ../shared/data/an4, --recipe large).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TOPIARY:-$ROOT/build/topiary}
OUT=bench/out/an4
DATA=$ROOT/../shared/data/an4
EPOCHS=
RECIPE=large
QUICK=0
MEASURE_ONLY=0
GP=finetune
GP_HIDDEN=
GP_SPARSITY=0.87
GP_BLOCK=
GP_AVERAGE=
ONLY=
BASE_AVERAGE=
SEED=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --epochs) EPOCHS=$2; shift 2 ;;
        --recipe) RECIPE=$2; shift 2 ;;
        --gp) GP=$2; shift 2 ;;
        --gp-hidden) GP_HIDDEN=$2; shift 2 ;;
        --gp-sparsity) GP_SPARSITY=$2; shift 2 ;;
        --gp-block) GP_BLOCK=$2; shift 2 ;;
        --gp-average) GP_AVERAGE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --base-average) BASE_AVERAGE=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --measure-only) MEASURE_ONLY=1; shift ;;
        --quick) QUICK=1; shift ;;
        *) echo "bench_an4: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -d "$DATA" ] || { echo "bench_an4: no AN4 at $DATA (--data)" >&2; exit 1; }
mkdir -p "$OUT"
case "$RECIPE" in
    large) BASE=(--hidden 256 --dropout 0.3 --decay-start 30 --lr-decay 0.92); EPOCHS=${EPOCHS:-60} ;;
    small) BASE=(--hidden 128 --dropout 0.2 --decay-start 40 --lr-decay 0.95); EPOCHS=${EPOCHS:-100} ;;
    *) echo "bench_an4: --recipe: expected large or small, got $RECIPE" >&2; exit 2 ;;
esac
case "$GP" in
    finetune) [ -z "$GP_BLOCK$GP_HIDDEN$GP_AVERAGE" ] ||
        { echo "bench_an4: --gp-block, --gp-hidden and --gp-average go with --gp scratch" >&2; exit 2; }
        [ "$ONLY" != gp ] || { echo "bench_an4: --only gp goes with --gp scratch (finetune copies the baseline)" >&2; exit 2; } ;;
    scratch) ;;
    *) echo "bench_an4: --gp: expected finetune or scratch, got $GP" >&2; exit 2 ;;
esac
case "$SEED" in ''|*[!0-9]*) echo "bench_an4: --seed: expected a whole number, got $SEED" >&2; exit 2 ;; esac
case "$ONLY" in ''|baseline|gp) ;; *) echo "bench_an4: --only: expected baseline or gp, got $ONLY" >&2; exit 2 ;; esac
for v in "$GP_AVERAGE" "$BASE_AVERAGE"; do
    case "$v" in
        '') ;;
        *[!0-9]*|0) echo "bench_an4: --gp-average/--base-average: expected a whole number of minibatches > 0, got $v" >&2; exit 2 ;;
    esac
done
# the lines that average the last 25 epochs: the start; the scores of the weights and of their mean, then apply
avg_start() { if [ -n "$1" ]; then echo "average start every=$1"; else echo "# (no weight averaging)"; fi; }
avg_end() {
    if [ -n "$1" ]; then echo "eval\neval split=test\neval average=1\neval average=1 split=test\naverage apply"
    else echo "# (no weight averaging)"; fi
}
AVG1=$(avg_start "$GP_AVERAGE"); AVG2=$(avg_end "$GP_AVERAGE")
EXTRA=(--seed "$SEED")
if [ "$QUICK" = 1 ]; then
    EXTRA+=(--max-utts 32 --hidden 32)
    EPOCHS=1
fi
if [ "$MEASURE_ONLY" = 1 ]; then
    for name in baseline gp; do
        [ -f "$OUT/$name/manifest.json" ] ||
            { echo "bench_an4: --measure-only: no session at $OUT/$name" >&2; exit 1; }
    done
else
    if [ "$ONLY" != gp ] && [ ! -f "$OUT/baseline/manifest.json" ]; then
        if [ -z "$BASE_AVERAGE" ]; then
            echo "== baseline: topiary train --task an4 --epochs $EPOCHS" >&2
            "$BIN" train --task an4 --data "$DATA" "${BASE[@]}" --freq-mask 2x8 --time-mask 2x20 \
                --epochs "$EPOCHS" --threads 1 "${EXTRA[@]}" --session "$OUT/baseline"
        else # the same training as a script: its last 25 epochs averaged
            E25=$((EPOCHS > 25 ? 25 : EPOCHS))
            printf 'train epochs=%d\n%s\ntrain epochs=%d\n%b\nstatus\n' $((EPOCHS - E25)) "$(avg_start "$BASE_AVERAGE")" \
                "$E25" "$(avg_end "$BASE_AVERAGE")" | sed '/^train epochs=0$/d' > "$OUT/baseline.tp"
            echo "== baseline: topiary run $OUT/baseline.tp (--epochs $EPOCHS, the last $E25 averaged)" >&2
            "$BIN" run "$OUT/baseline.tp" --session "$OUT/baseline" --task an4 --data "$DATA" "${BASE[@]}" \
                --freq-mask 2x8 --time-mask 2x20 --epochs "$EPOCHS" --threads 1 "${EXTRA[@]}" >&2
        fi
    fi
    [ "$ONLY" = baseline ] && exit 0
    if [ "$GP" = finetune ]; then
        E0=$(/usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["epoch"] - 1)' "$OUT/baseline/manifest.json")
        rm -rf "$OUT/gp"
        cp -r "$OUT/baseline" "$OUT/gp"
        E1=$((E0 + 22)) # the ramp (19 epochs) and the growth step (2) done: the fine-tuning's decay starts
        sed -e "s/@E1@/$E1/g" "$ROOT/bench/an4_gp.tp" > "$OUT/gp.tp"
        GP_TASK=()
    else
        # the cubic ramp's sparsities, then the final one
        SUBST=$(awk -v s="$GP_SPARSITY" 'BEGIN { if (!(s > 0 && s < 1)) exit 1;
            for (i = 1; i <= 10; i++) printf "-e s/@S%d@/%.4f/g ", i, s * (1 - (1 - i / 10) ^ 3);
            printf "-e s/@S@/%s/g", s }') ||
            { echo "bench_an4: --gp-sparsity: expected a number in (0, 1), got $GP_SPARSITY" >&2; exit 2; }
        case "$GP_BLOCK" in
            '') PAT= ;;
            16x1|8x1|4x4) PAT=" pattern=block block=$GP_BLOCK" ;;
            *) echo "bench_an4: --gp-block: expected 16x1, 8x1 or 4x4, got $GP_BLOCK" >&2; exit 2 ;;
        esac
        # shellcheck disable=SC2086
        sed $SUBST -e "s/@PAT@/$PAT/g" -e "s/^@AVG1@$/$AVG1/" -e "s/^@AVG2@$/$AVG2/" \
            "$ROOT/bench/an4_gp_scratch.tp" > "$OUT/gp.tp"
        rm -rf "$OUT/gp"
        GP_TASK=(--task an4 --data "$DATA" "${BASE[@]}" --freq-mask 2x8 --time-mask 2x20 --epochs 100
                 --decay-start 55 --lr-decay 0.94 --threads 1 "${EXTRA[@]}")
        [ -n "$GP_HIDDEN" ] && GP_TASK+=(--hidden "$GP_HIDDEN")
    fi
    if [ "$QUICK" = 1 ]; then # the smoke version: one epoch of each stage
        sed -i -e 's/train epochs=[0-9]*/train epochs=1/' "$OUT/gp.tp"
    fi
    echo "== grow-and-prune ($GP): topiary run $OUT/gp.tp" >&2
    "$BIN" run "$OUT/gp.tp" --session "$OUT/gp" "${GP_TASK[@]}" >&2
    [ "$ONLY" = gp ] && exit 0
fi
field() { /usr/bin/env python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
model() { /usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"][sys.argv[2]])' "$1/manifest.json" "$2"; }
BENCH=${BENCH_INFER_ASR:-$ROOT/build/bench/bench_infer_asr}
[ -x "$BENCH" ] || { echo "bench_an4: $BENCH is not built (make build/bench/bench_infer_asr)" >&2; exit 1; }
UTTS=130; REPS=3
[ "$QUICK" = 1 ] && { UTTS=8; REPS=1; }
printf 'name\twer\tcer\tparams\tnnz\tdense_ms_1t\truntime_ms_1t\tspeedup_1t\tdense_ms_2t\truntime_ms_2t\tspeedup_2t\n' > "$OUT/results.tsv"
for name in baseline gp; do
    j=$("$BIN" eval --session "$OUT/$name" --split test --json --threads 1)
    jr=$("$BIN" eval --session "$OUT/$name" --split test --json --threads 1 --runtime)
    [ "$(field "$j" wer) $(field "$j" cer)" = "$(field "$jr" wer) $(field "$jr" cer)" ] ||
        { echo "bench_an4: $name: the runtime's WER/CER differ: $j vs $jr" >&2; exit 1; }
    row="$name\t$(field "$j" wer)\t$(field "$j" cer)\t$(model "$OUT/$name" params)\t$(model "$OUT/$name" nnz)"
    for t in 1 2; do # each configuration alone in its process (bench_infer_asr --only)
        bd=$("$BENCH" "$OUT/$name" --utts $UTTS --reps $REPS --threads $t --only dense --json | tail -1)
        br=$("$BENCH" "$OUT/$name" --utts $UTTS --reps $REPS --threads $t --only runtime --json | tail -1)
        d=$(field "$bd" dense_ms_per_audio_s); r=$(field "$br" runtime_ms_per_audio_s)
        row="$row\t$d\t$r\t$(awk -v d="$d" -v r="$r" 'BEGIN { printf "%.4f", d / r }')"
        echo "== $name, $t thread(s): kernels $(field "$br" kernels)" >&2
    done
    printf "$row\n" >> "$OUT/results.tsv"
done
column -t "$OUT/results.tsv" 2>/dev/null || cat "$OUT/results.tsv"
