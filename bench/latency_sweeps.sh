#!/usr/bin/env bash
# bench/latency_sweeps.sh: the measured latency-hysteresis curves of issue 4 (DESIGN 3.3; Yin et al.,
# IEEE TETC 2022): one LSTM layer step on OpenBLAS at 1 and 2 threads, batch 1 and 20, hidden
# d = 16..1536 step 8, two sweeps per setting (sweep 2 of every setting runs after sweep 1 of all of
# them, so the two are minutes apart), with the default profiler settings (steady-state protocol,
# ~60 s per sweep).  Then the analysis of each setting (hysteresis points, dominated sizes, the
# largest non-monotonic jumps, the overlap of the two sweeps), the accelerator model's curve, and
# the PyTorch reference ../shared/bench/torch_hyst.py (nn.LSTM step, batch 1) through the same
# analysis.  Plots: gnuplot PNGs with the hysteresis points and dominated sizes marked.
#
#   bash bench/latency_sweeps.sh                  # everything (about 15 minutes)
#   CONFIGS="1:20" SWEEPS=2 TORCH=0 bash bench/latency_sweeps.sh
#   REPLOT=1 bash bench/latency_sweeps.sh        # analyses and plots again, no measuring
#   SIZES=16:256:16 BUDGET=3 TORCH_ROUNDS=3 OUT=/tmp/lat IMG=/tmp/lat bash bench/latency_sweeps.sh   # smoke test
#
# Outputs: bench/out/latency/ (TSVs, analyses *.txt, marks, summary.txt) and docs/img/latency-*.png
# with their gnuplot scripts docs/img/latency-*.gp (run from the repository root to redraw).
# The machine should be quiet: summary.txt records the load average before and after; on a
# shared machine p90 widens and fewer effects clear the noise band.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/topiary
OUT=${OUT:-bench/out/latency}
IMG=${IMG:-docs/img}
SIZES=${SIZES:-16:1536:8}
CONFIGS=${CONFIGS:-"1:1 1:20 2:1 2:20"}   # threads:batch
SWEEPS=${SWEEPS:-2}
TORCH=${TORCH:-1}
TORCH_ROUNDS=${TORCH_ROUNDS:-21}
BUDGET=${BUDGET:-}                         # seconds per sweep; empty = the profiler's default (60)
SHARED=${TOPIARY_SHARED:-../shared}
PY=/usr/bin/python3

[ -x "$BIN" ] || { echo "latency_sweeps: $BIN missing (run make first)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "latency_sweeps: gnuplot missing (make deps)" >&2; exit 1; }
mkdir -p "$OUT" "$IMG"
SUM=$OUT/summary.txt
{
  echo "latency sweeps $(date -u +%FT%TZ) sizes $SIZES, configs $CONFIGS, $SWEEPS sweep(s) each"
  if [ "${REPLOT:-0}" = 1 ]; then echo "REPLOT: analyses and plots of sweeps measured earlier (load then: unknown here)"
  else echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; fi
} > "$SUM"

# d, median, p10, p90, running minimum (min over d' >= d), median / running minimum
envelope() {
  awk -F'\t' 'NR > 1 { n++; h[n] = $5; m[n] = $8; lo[n] = $9; hi[n] = $10 }
    END { r = 1e300; for (i = n; i >= 1; i--) { if (m[i] < r) r = m[i]; rm[i] = r }
          for (i = 1; i <= n; i++) printf "%s\t%s\t%s\t%s\t%.3f\t%.4f\n", h[i], m[i], lo[i], hi[i], rm[i], m[i] / rm[i] }' "$1"
}

# gnuplot script: $1 name, $2 title, then "label:curve-prefix" pairs (curve files $prefix.env, $prefix.marks)
plot_curves() {
  local name=$1 title=$2; shift 2
  local gp=$IMG/$name.gp colors=("#1f77b4" "#ff7f0e" "#2ca02c" "#9467bd") top="" bottom="" i=0
  for spec in "$@"; do
    local label=${spec%%:*} pre=${spec#*:} c=${colors[$((i % 4))]}
    [ $i -eq 0 ] && top+="'$pre.env' using 1:3:4 with filledcurves lc rgb '#dddddd' title '$label p10..p90', "
    top+="'$pre.env' using 1:2 with lines lw 1.2 lc rgb '$c' title '$label median', "
    top+="'$pre.marks' every ::1 using 1:(strcol(3) eq 'hysteresis' ? \$2 : 1/0) with points pt $((6 + i)) ps 1.3 lc rgb '$c' title '$label hysteresis points', "
    top+="'$pre.marks' every ::1 using 1:(strcol(3) eq 'dominated' ? \$2 : 1/0) with points pt $((2 + i)) ps 0.8 lc rgb 'black' title '$label dominated', "
    bottom+="'$pre.env' using 1:6 with lines lc rgb '$c' title '$label', "
    i=$((i + 1))
  done
  cat > "$gp" <<EOF
# $gp: written by bench/latency_sweeps.sh; redraw from the repository root: gnuplot $gp
set terminal pngcairo size 1000,720 font "sans,9"
set output '$IMG/$name.png'
set datafile separator "\t"
set multiplot layout $([ -n "${SINGLE:-}" ] && echo 1 || echo 2),1 title "$title"
set key top left font ",8"
set grid
set logscale y
set ylabel "median us per call (log)"
set xrange [0:*]
$([ -n "${SINGLE:-}" ] && echo 'set xlabel "hidden size d"')
plot ${top%, }
EOF
  [ -n "${SINGLE:-}" ] || cat >> "$gp" <<EOF
unset logscale y
set xlabel "hidden size d"
set ylabel "median / min over larger sizes"
set yrange [0.95:*]
plot ${bottom%, }
EOF
  cat >> "$gp" <<EOF
unset multiplot
EOF
  gnuplot "$gp"
}

# ---- the accelerator model (instant) ----
$BIN profile --backend accel --sizes "$SIZES" --out "$OUT/accel.tsv" --marks "$OUT/accel.marks" > "$OUT/accel.txt"
envelope "$OUT/accel.tsv" > "$OUT/accel.env"
SINGLE=1 plot_curves latency-accel "accelerator model (data/accel-default.json): LSTM step, batch 1" "model:$OUT/accel"

# ---- measured sweeps (REPLOT=1: keep the last ones, redo the analyses and plots) ----
if [ "${REPLOT:-0}" != 1 ]; then
echo -e "threads\tbatch\tsweep\tseconds" > "$OUT/times.tsv"
for s in $(seq 1 "$SWEEPS"); do
  for cfg in $CONFIGS; do
    t=${cfg%%:*} b=${cfg#*:} f=$OUT/cpu-t$t-b$b-s$s
    echo "latency_sweeps: threads $t batch $b sweep $s ..." >&2
    t0=$(date +%s.%N)
    $BIN profile --threads "$t" --batch "$b" --sizes "$SIZES" --seed "$s" ${BUDGET:+--budget-s "$BUDGET"} --out "$f.tsv" --marks "$f.marks" > "$f.txt"
    echo -e "$t\t$b\t$s\t$(echo "$(date +%s.%N) - $t0" | bc)" >> "$OUT/times.tsv"
    envelope "$f.tsv" > "$f.env"
  done
done

# ---- PyTorch reference (batch 1) ----
if [ "$TORCH" = 1 ] && [ -f "$SHARED/bench/torch_hyst.py" ] && $PY -c "import torch" 2>/dev/null; then
  IFS=: read -r hmin hmax hstep <<< "$SIZES"
  for s in $(seq 1 "$SWEEPS"); do
    for t in 1 2; do
      f=$OUT/torch-t$t-s$s
      rm -f "$f.csv"
      echo "latency_sweeps: torch threads $t sweep $s ..." >&2
      OMP_WAIT_POLICY=PASSIVE $PY "$SHARED/bench/torch_hyst.py" "$t" "$s" "$f.csv" "$hmin" "$hmax" "$hstep" "$TORCH_ROUNDS" 2>> "$OUT/torch.log"
      # to a topiary latency TSV, so the same analysis reads it
      awk -F, -v OFS='\t' -v run="torch-t$t-s$s" 'NR == 1 { print "backend","threads","batch","seq","hidden","sparsity","pattern","median_us","p10_us","p90_us","n_samples","n_inner","protocol","run"; next }
        { print "torch",$2,$3,1,$1,0,"dense",$4,$5,$6,$9,$10,"steady",run }' "$f.csv" > "$f.tsv"
      envelope "$f.tsv" > "$f.env"
    done
  done
fi
fi

# ---- analyses and plots ----
for cfg in $CONFIGS; do
  t=${cfg%%:*} b=${cfg#*:} args=() specs=()
  for s in $(seq 1 "$SWEEPS"); do
    args+=(--analyze "$OUT/cpu-t$t-b$b-s$s.tsv")
    specs+=("sweep $s:$OUT/cpu-t$t-b$b-s$s")
  done
  $BIN profile "${args[@]}" > "$OUT/cpu-t$t-b$b.txt"
  # the same sweeps compared on medians with a 5% margin (a busy machine stretches p90): what recurs?
  $BIN profile "${args[@]}" --noise margin --margin 0.05 > "$OUT/cpu-t$t-b$b-margin5.txt"
  if [ "$b" = 1 ] && [ -f "$OUT/torch-t$t-s1.tsv" ]; then
    targs=()
    for s in $(seq 1 "$SWEEPS"); do targs+=(--analyze "$OUT/torch-t$t-s$s.tsv"); done
    for s in $(seq 1 "$SWEEPS"); do
      $BIN profile --analyze "$OUT/torch-t$t-s$s.tsv" --marks "$OUT/torch-t$t-s$s.marks" > /dev/null
    done
    $BIN profile "${targs[@]}" > "$OUT/torch-t$t.txt"
    specs+=("torch sweep 1:$OUT/torch-t$t-s1")
  fi
  plot_curves "latency-cpu-t$t-b$b" "OpenBLAS LSTM step, $t thread$([ "$t" = 1 ] || echo s), batch $b, steady state ($(date -u +%F))" "${specs[@]}"
done

{
  [ "${REPLOT:-0}" = 1 ] || echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo; echo "sweep times (s):"; column -t "$OUT/times.tsv"
  for f in "$OUT"/cpu-t*-b*.txt "$OUT"/torch-t?.txt; do
    case "$f" in *-s[0-9].txt|*-margin5.txt) continue ;; esac
    [ -f "$f" ] || continue
    echo; echo "== $f"
    grep -E "^latency profile|^noise|^Pareto|^hysteresis points|^  [0-9]+: |^non-monotonic effect|^repeatability|faster \(beyond" "$f" || true
  done
  echo; echo "== medians compared with a 5% margin alone (--noise margin --margin 0.05): repeatability"
  grep -h "^repeatability" "$OUT"/cpu-t*-b*-margin5.txt || true
} >> "$SUM"
ls -l "$IMG"/latency-*.png >> "$SUM"
cat "$SUM"
