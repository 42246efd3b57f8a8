#!/usr/bin/env bash
# bench/bench_ptb_hwgp.sh: the PTB protocol of hardware-guided grow-and-prune (issue 13).
#
# From a trained dense baseline session (default runs/ptb-small, the Zaremba-small 2x200 model) it
#   1. copies the baseline to OUT/hwgp and runs `topiary compress` there (the verb `schedule hwgp`,
#      journaled; the baseline itself is never changed);
#   2. copies the baseline to OUT/control and trains it densely for the same number of steps the
#      method trained (the control: is the gain the method's or just more training?);
#   3. exports every model and measures: parameters, non-zeros, test perplexity (DESIGN 2.5
#      protocol, `topiary eval --model`), the compact file's size, and the per-token batch-1 latency
#      of the recurrent layers on the target at 1 and 2 threads (`topiary profile --target T` at each
#      layer's size, density and pattern, summed over the layers), plus the whole model's per-token
#      time of topiary's runtime during the test evaluation;
#   4. writes OUT/results.tsv and the gnuplot scripts OUT/ppl_vs_nonzeros.gp (perplexity against
#      non-zeros) and OUT/latency_curve.gp (the target's first and last curve of the run with the
#      sizes chosen at each phase), rendered to PNG when gnuplot is installed.
#
#   bash bench/bench_ptb_hwgp.sh [--session DIR] [--out DIR] [--target T] [--budget-us X | --speedup R]
#        [--tolerance PPL] [--grow R] [--prune R] [--every N] [--cycles C] [--phases P] [--sizes A:B:S]
#        [--pattern unstructured|block] [--targets GLOB:S[:RxC]+... --ramp N --retrain N] [--batches K]
#        [--finetune E [--average N]] [--max-hidden B] [--distill EXPORTDIR[:A]] [--set 'KEY=V ...'] [--tie decoder|embed] [--data PTBDIR]
#        [--hlstm-session DIR] [--no-control] [--quick] [--measure NAME=SESSION ...]
#
# --set runs `set KEY=V ...` on the copies (method and control) before the method (rates, dropout,
# epochs).  --tie FROM runs `tie from=FROM` on the method's copy after that (one matrix for the
# embedding and the decoder; the control stays the baseline's untied architecture).
# --targets/--ramp/--retrain/--finetune/--average/--max-hidden/--distill are those of `topiary compress`
# (--distill: every step the method trains also learns that export's distributions; the control
# trains without a teacher).
# --measure NAME=SESSION (repeatable) skips the protocol and only measures the sessions named (rows
# NAME), e.g. runs made by hand with the same commands.  With --data (PTB, default ../shared/data/ptb
# when it exists) every row also has the whole model's per-token latency through topiary's runtime at 1
# and 2 threads and the dense sgemv path at 2 threads (build/bench/bench_infer, 3000 test tokens).
#
# --hlstm-session runs the same protocol on an H-LSTM baseline (the paper's shape: one H-LSTM layer in
# place of the stacked two).  --quick shortens everything (tiny sessions, the e2e test).  Defaults:
# target cpu, speedup 4, tolerance 0 (no perplexity loss against the baseline's validation ppl is
# allowed by the GP steps), grow 0.1, prune 0.1, every 400, cycles 2, phases 4.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TOPIARY:-$ROOT/build/topiary}
SESSION=runs/ptb-small
OUT=bench/out/ptb-hwgp
TARGET=cpu
BUDGET=""
SPEEDUP=4
TOL=0
GROW=0.1
PRUNE=0.1
EVERY=400
CYCLES=2
PHASES=4
SIZES=""
PATTERN=unstructured
HLSTM=""
CONTROL=1
QUICK=0
TARGETS=""
RAMP=""
RETRAIN=""
FINETUNE=""
AVERAGE=""
MAXH=""
DISTILL=""
SETLINE=""
TIE=""
BATCHES_OPT=""
MEASURE=()
DATA=""
[ -d "$ROOT/../shared/data/ptb" ] && DATA=$ROOT/../shared/data/ptb
while [ $# -gt 0 ]; do
    case $1 in
    --session) SESSION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --budget-us) BUDGET=$2; SPEEDUP=""; shift 2 ;;
    --speedup) SPEEDUP=$2; BUDGET=""; shift 2 ;;
    --tolerance) TOL=$2; shift 2 ;;
    --grow) GROW=$2; GROW_SET=$2; shift 2 ;;
    --prune) PRUNE=$2; shift 2 ;;
    --every) EVERY=$2; shift 2 ;;
    --cycles) CYCLES=$2; shift 2 ;;
    --phases) PHASES=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --pattern) PATTERN=$2; shift 2 ;;
    --hlstm-session) HLSTM=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --ramp) RAMP=$2; shift 2 ;;
    --retrain) RETRAIN=$2; shift 2 ;;
    --finetune) FINETUNE=$2; shift 2 ;;
    --average) AVERAGE=$2; shift 2 ;;
    --max-hidden) MAXH=$2; shift 2 ;;
    --distill) DISTILL=$2; shift 2 ;;
    --batches) BATCHES_OPT=$2; shift 2 ;;
    --set) SETLINE=$2; shift 2 ;;
    --tie) TIE=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --measure) MEASURE+=("$2"); shift 2 ;;
    --no-control) CONTROL=0; shift ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "bench_ptb_hwgp: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "bench_ptb_hwgp: $BIN missing (run make first)" >&2; exit 1; }
[ ${#MEASURE[@]} -gt 0 ] || [ -f "$SESSION/manifest.json" ] || { echo "bench_ptb_hwgp: $SESSION: no session there (train the baseline first)" >&2; exit 2; }
if [ "$QUICK" = 1 ]; then EVERY=10; CYCLES=1; PHASES=2; BATCHES=2; REPS=3; DATA=""; else BATCHES=20; REPS=0; fi
[ -n "$BATCHES_OPT" ] && BATCHES=$BATCHES_OPT
INFER=${BENCH_INFER:-$ROOT/build/bench/bench_infer}
if [ -n "$DATA" ] && [ ! -x "$INFER" ]; then log_early="$INFER missing (make bench): no runtime columns"; DATA=""; fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { echo "bench_ptb_hwgp: $*" >&2; }
[ -n "${log_early:-}" ] && log "$log_early"

step_of() { jq -r '.state.step' "$1/manifest.json"; }
# Density of the recurrent layers' weight matrices of export $1 (their masks in model.safetensors).
density_of() {
    python3 - "$1/model.safetensors" <<'PYEOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n)); base = 8 + n
    live = total = 0
    for name, t in head.items():
        if not name.startswith("mask.") or name.endswith("bias") or ".bias" in name or "embed" in name or "decoder" in name:
            continue
        a, b = t["data_offsets"]; f.seek(base + a); d = f.read(b - a)
        live += sum(1 for x in d if x); total += len(d)
print(f"{live / total:.6f}" if total else "1")
PYEOF
}
hidden_of() { jq -r '.hidden | map(tostring) | join(",")' "$1/config.json"; }

# The per-token latency of the recurrent layers of export $1 (density $2) on the target at $3 threads.
layers_us() {
    local exp=$1 density=$2 threads=$3 total=0 pat sp
    if awk "BEGIN{exit !($density >= 0.999)}"; then pat=dense; sp=0; else
        sp=$(awk "BEGIN{printf \"%.4f\", 1 - $density}")
        # as schedule hwgp asks: the cpu target times unstructured masks in its fastest layout
        case $TARGET in accel*) pat=row ;; cpu) [ "$PATTERN" = block ] && pat=block || pat=unstructured ;;
            *) [ "$PATTERN" = block ] && pat=block || pat=sell ;; esac
    fi
    local reps=(); [ "$REPS" != 0 ] && reps=(--reps "$REPS") || reps=(--budget-s 5)
    local hs sizes json
    hs=$(hidden_of "$exp" | tr , ' ')
    sizes=$(echo $hs | tr ' ' '\n' | sort -n -u | paste -sd, -)
    local args=(profile --target "$TARGET" --sizes "$sizes" --threads "$threads" --json "${reps[@]}")
    [ "$pat" != dense ] && args+=(--pattern "$pat" --sparsity "$sp")
    if [ "$(jq -r .cell "$exp/config.json")" = hlstm ]; then  # the accel target models H-LSTM; cpu does not yet
        args+=(--cell hlstm --gate-hidden "$(jq -r .gate_hidden "$exp/config.json")")
    fi
    json=$("$BIN" "${args[@]}") || return 1
    for h in $hs; do
        local us
        us=$(echo "$json" | jq -r --argjson h "$h" '.points[] | select(.hidden == $h) | .median_us')
        total=$(awk "BEGIN{print $total + $us}")
    done
    echo "$total"
}

# One results row for session $1 named $2.
measure() {
    local sess=$1 name=$2 exp="$OUT/export-$2" density
    rm -rf "$exp"
    local msg
    msg=$("$BIN" export --session "$sess" --out "$exp" 2>&1 >/dev/null) || { echo "$msg" >&2; return 1; }
    local nnz params
    nnz=$(echo "$msg" | sed -n 's/.*(\([0-9]*\) of \([0-9]*\) parameters non-zero).*/\1/p')
    params=$(echo "$msg" | sed -n 's/.*(\([0-9]*\) of \([0-9]*\) parameters non-zero).*/\2/p')
    density=$(density_of "$exp")
    local ev ppl tokens secs
    ev=$("$BIN" eval --model "$exp" --split test --json)
    ppl=$(echo "$ev" | jq -r .ppl); tokens=$(echo "$ev" | jq -r .tokens); secs=$(echo "$ev" | jq -r .seconds)
    local bytes l1 l2
    bytes=$(stat -c %s "$exp/model.compact.safetensors")
    l1=$(layers_us "$exp" "$density" 1); l2=$(layers_us "$exp" "$density" 2)
    local r1=- r2=- d2=- out
    if [ -n "$DATA" ]; then  # the whole model per token, batch 1: topiary's runtime and the dense sgemv path
        out=$("$INFER" "$exp" --threads 1 --data "$DATA" --tokens 3000 2>&1) || { echo "$out" >&2; return 1; }
        r1=$(echo "$out" | awk '$1 == "runtime" && $2 != "kernels:" { print $2; exit }')
        out=$("$INFER" "$exp" --threads 2 --data "$DATA" --tokens 3000 2>&1) || { echo "$out" >&2; return 1; }
        r2=$(echo "$out" | awk '$1 == "runtime" && $2 != "kernels:" { print $2; exit }'); d2=$(echo "$out" | awk '$1 == "dense" { print $2; exit }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$params" "$nnz" "$ppl" "$bytes" "$l1" "$l2" \
        "$(awk "BEGIN{printf \"%.3f\", 1e6 * $secs / $tokens}")" "$(hidden_of "$exp")" "$density" "$TARGET" "$r1" "$r2" "$d2"
}

# The protocol on one baseline: rows for dense, hwgp and control.
protocol() {
    local base=$1 tag=$2
    local h="$OUT/hwgp$tag" c="$OUT/control$tag"
    rm -rf "$h" "$c"
    cp -a "$base" "$h"
    rm -f "$h/lock" "$h/hwgp.json" "$h/hwgp.log"
    if [ -n "$SETLINE" ]; then
        printf 'set %s\n' "$SETLINE" > "$OUT/set$tag.tp"
        "$BIN" run "$OUT/set$tag.tp" --session "$h" > /dev/null
    fi
    if [ -n "$TIE" ]; then
        log "$tag: tie from=$TIE"
        printf 'tie from=%s\n' "$TIE" | "$BIN" run - --session "$h" > "$OUT/tie$tag.txt"
    fi
    local args=(compress --session "$h" --target "$TARGET" --tolerance "$TOL" --grow "$GROW" --prune "$PRUNE"
                --every "$EVERY" --cycles "$CYCLES" --phases "$PHASES" --batches "$BATCHES" --pattern "$PATTERN")
    [ -n "$BUDGET" ] && args+=(--budget-us "$BUDGET") || args+=(--speedup "$SPEEDUP")
    [ -n "$SIZES" ] && args+=(--sizes "$SIZES")
    if [ -n "$TARGETS" ]; then  # per-group targets replace the GP cycle's prune ratio, cycles and pattern
        args=(compress --session "$h" --target "$TARGET" --tolerance "$TOL" --every "$EVERY" --phases "$PHASES"
              --batches "$BATCHES" --targets "$TARGETS" --grow "${GROW_SET:-0.02}")
        [ -n "$BUDGET" ] && args+=(--budget-us "$BUDGET") || args+=(--speedup "$SPEEDUP")
        [ -n "$SIZES" ] && args+=(--sizes "$SIZES")
        [ -n "$RAMP" ] && args+=(--ramp "$RAMP")
        [ -n "$RETRAIN" ] && args+=(--retrain "$RETRAIN")
        case $TARGETS in *:16x1*|*:8x1*|*:4x4*) PATTERN=block ;; esac
    fi
    [ -n "$FINETUNE" ] && args+=(--finetune "$FINETUNE")
    [ -n "$AVERAGE" ] && args+=(--average "$AVERAGE")
    [ -n "$MAXH" ] && args+=(--max-hidden "$MAXH")
    [ -n "$DISTILL" ] && args+=(--distill "$DISTILL")
    log "$tag: topiary ${args[*]}"
    "$BIN" "${args[@]}" > "$OUT/compress$tag.txt"
    local ran=$(( $(step_of "$h") - $(step_of "$base") ))
    measure "$base" "dense$tag"
    measure "$h" "hwgp$tag"
    if [ "$CONTROL" = 1 ] && [ "$ran" -gt 0 ]; then
        cp -a "$base" "$c"
        rm -f "$c/lock"
        { [ -n "$SETLINE" ] && printf 'set %s\n' "$SETLINE"; printf 'train steps=%d\n' "$ran"; } > "$OUT/control$tag.tp"
        log "$tag: control: train steps=$ran (dense)"
        "$BIN" run "$OUT/control$tag.tp" --session "$c" > /dev/null
        measure "$c" "control$tag"
    fi
}

{
    printf 'model\tparams\tnonzeros\ttest_ppl\tcompact_bytes\tlayers_us_1t\tlayers_us_2t\truntime_token_us\thidden\tdensity\ttarget'
    printf '\truntime_us_1t\truntime_us_2t\tsgemv_us_2t\n'
    if [ ${#MEASURE[@]} -gt 0 ]; then
        for m in "${MEASURE[@]}"; do
            [ -f "${m#*=}/manifest.json" ] || { log "--measure $m: no session there"; exit 2; }
            measure "${m#*=}" "${m%%=*}"
        done
    else
        protocol "$SESSION" ""
        [ -n "$HLSTM" ] && protocol "$HLSTM" "-hlstm"
    fi
} > "$OUT/results.tsv.tmp"
mv "$OUT/results.tsv.tmp" "$OUT/results.tsv"

# ---- figures ----
cat > "$OUT/ppl_vs_nonzeros.gp" <<EOF
# perplexity against non-zero parameters (bench_ptb_hwgp.sh)
set terminal pngcairo size 900,600
set output '$OUT/ppl_vs_nonzeros.png'
set datafile separator '\t'
set logscale x
set xlabel 'non-zero parameters'
set ylabel 'test perplexity'
set key off
set grid
plot '$OUT/results.tsv' every ::1 using 3:4 with points pt 7 ps 1.5, \\
     '' every ::1 using 3:4:1 with labels offset 1,1
EOF
# the target's first and last curve of the run, and the sizes chosen at each phase (the method's
# session: OUT/hwgp, or with --measure the first NAME=SESSION whose session has a hwgp.json)
HW=$OUT/hwgp
for m in "${MEASURE[@]}"; do [ -f "${m#*=}/hwgp.json" ] && { HW=${m#*=}; break; }; done
if [ ! -f "$HW/hwgp.json" ] || [ ! -f "$HW/latency.tsv" ]; then
    log "no hwgp run with a latency curve to draw: ppl_vs_nonzeros only"
    if command -v gnuplot > /dev/null; then gnuplot "$OUT/ppl_vs_nonzeros.gp" 2> "$OUT/ppl_vs_nonzeros.err" || true; fi
    column -t -s $'\t' "$OUT/results.tsv"
    exit 0
fi
awk -F'\t' 'NR > 1 && $16 != prev { n++; prev = $16 } NR > 1 { print n "\t" $5 "\t" $8 }' "$HW/latency.tsv" > "$OUT/curves.tsv"
jq -r '.history[] | [.phase, .stage, .sizes[0], (.latency_us / (.sizes | length)), (.sizes | map(tostring) | join(","))] | @tsv' \
    "$HW/hwgp.json" > "$OUT/phases.tsv"
last=$(cut -f1 "$OUT/curves.tsv" | sort -n | tail -1)
cat > "$OUT/latency_curve.gp" <<EOF
# the target's latency curve (first and last of the hwgp run) and the sizes chosen per phase
set terminal pngcairo size 900,600
set output '$OUT/latency_curve.png'
set datafile separator '\t'
set xlabel 'hidden size'
set ylabel 'latency of one layer step (us) on $TARGET'
set grid
plot '$OUT/curves.tsv' using (\$1 == 1 ? \$2 : 1/0):3 with lines title 'first curve', \\
     '' using (\$1 == $last ? \$2 : 1/0):3 with lines title 'last curve', \\
     '$OUT/phases.tsv' using 3:4 with points pt 7 ps 1.5 title 'sizes chosen (layer 0; latency per layer)', \\
     '' using 3:4:(sprintf('phase %d: %s', \$1, strcol(5))) with labels offset 0,1 notitle
EOF
if command -v gnuplot > /dev/null; then
    for g in ppl_vs_nonzeros latency_curve; do gnuplot "$OUT/$g.gp" 2> "$OUT/$g.err" || log "gnuplot $g: $(head -2 "$OUT/$g.err")"; done
fi
column -t -s $'\t' "$OUT/results.tsv"
log "results in $OUT/results.tsv; figures $OUT/*.gp"
