#!/usr/bin/env bash
# tests/e2e/cli_dse: `topiary dse` and the `dse` verb end to end on the real binary.
#
#   a small session (2 LSTM layers of 48) dense, and a copy pruned 90 % row-balanced by a script;
#   the table (the front, the chosen design), --all, --out TSV (a row per design, the Pareto and
#   chosen columns), --json (one line), --plot (PNG and its gnuplot script, when gnuplot is here);
#   on every design the pruned model is never slower than the dense one, and faster on some;
#   the verb in a script prints the same front and is not journaled; `help dse`;
#   bad lists and options exit 2 naming the option and the item, and write nothing.
# $TOPIARY is the binary (the Makefile's e2e target sets it).  A few seconds.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# ---- two small sessions: dense, and pruned 90 % row-balanced ----
echo "snapshot name=start" > mk.tp
"$TOPIARY" run mk.tp --session dense --hidden 48,48 --embed 16 > /dev/null 2> mk.err || fail "session: $(cat mk.err)"
printf 'prune sparsity=0.9 pattern=row params=l*\n' > prune.tp
"$TOPIARY" run prune.tp --session sparse --hidden 48,48 --embed 16 > /dev/null 2> pr.err || fail "prune: $(cat pr.err)"
lists=(--rows 16,32,64 --cols 16:64:16 --sram-kib 4,16,64 --dram-gbps 12.8,25.6 --clock-mhz 700)
n=$((3 * 4 * 3 * 2))

# ---- table, TSV, JSON ----
"$TOPIARY" dse --session dense "${lists[@]}" --out dense.tsv > dense.txt 2> dense.err || fail "dse dense: $(cat dense.err)"
grep -q "^  layer 1: LSTM I=48 H=48: dense$" dense.txt || fail "table: layer line: $(cat dense.txt)"
grep -q "^Pareto front: [0-9]* of $n designs" dense.txt || fail "table: front line"
grep -q "^chosen: .* (the smallest area x latency on the front)$" dense.txt || fail "table: chosen line"
[ "$(grep -c '^ >\*' dense.txt)" -eq 1 ] || fail "table: the chosen design is not marked once on the front"
head -1 dense.tsv | grep -q $'^rows\tcols\tsram_kib\tdram_gbps\tclock_mhz\tarea_mm2\tlatency_us\ttokens_per_s' || fail "TSV header"
[ "$(($(wc -l < dense.tsv) - 1))" -eq "$n" ] || fail "TSV: expected $n designs"
front=$(awk -F'\t' 'NR > 1 && $11 == 1' dense.tsv | wc -l)
grep -q "^Pareto front: $front of $n designs" dense.txt || fail "TSV front ($front) differs from the table's"
[ "$(awk -F'\t' 'NR > 1 && $12 == 1' dense.tsv | wc -l)" -eq 1 ] || fail "TSV: not exactly one chosen design"
# a dominated design really is dominated, and no front design is
awk -F'\t' 'NR > 1 { a[NR] = $6; l[NR] = $7; p[NR] = $11; n = NR }
  END { for (i = 2; i <= n; i++) { d = 0
          for (j = 2; j <= n; j++) if (a[j] <= a[i] && l[j] <= l[i] && (a[j] < a[i] || l[j] < l[i])) d = 1
          if (d == p[i]) { print "row " i ": pareto " p[i] " but dominated " d; exit 1 } } }' dense.tsv \
    || fail "TSV: the Pareto column disagrees with the points"
"$TOPIARY" dse --session dense "${lists[@]}" --all > all.txt
[ "$(grep -c '^ [ >][ *] ' all.txt)" -eq "$((n + 1))" ] || fail "--all: expected the header and $n designs"
"$TOPIARY" dse --session dense "${lists[@]}" --json > d.json
[ "$(wc -l < d.json)" -eq 1 ] && grep -q '^{"format":"topiary-dse"' d.json || fail "--json: one object"
[ "$(grep -o '"rows":' d.json | wc -l)" -eq "$n" ] || fail "--json: expected $n designs"
ok "table, --all, TSV (Pareto column checked against the points), JSON"

# ---- the pruned model on the same designs ----
"$TOPIARY" dse --session sparse "${lists[@]}" --out sparse.tsv > sparse.txt || fail "dse sparse"
grep -q "^  layer 0: LSTM I=16 H=48: density .* row-balanced: 7 of 64 per row" sparse.txt || fail "sparse layer: $(grep layer sparse.txt)"
paste dense.tsv sparse.tsv | awk -F'\t' 'NR > 1 { if ($19 > $7) { print "design " NR ": sparse " $19 " > dense " $7; exit 1 } if ($19 < $7) f++ }
  END { if (f == 0) { print "never faster"; exit 1 } }' || fail "the 90 %-sparse model is slower than the dense one somewhere, or never faster"
ok "90 % row-balanced: never slower than dense on any design, faster on some"

# ---- the figure ----
if command -v gnuplot > /dev/null; then
    "$TOPIARY" dse --session sparse "${lists[@]}" --plot fig.png > /dev/null 2> fig.err || fail "--plot: $(cat fig.err)"
    [ -s fig.png ] && [ -s fig.gp ] && [ -s fig.data.tsv ] || fail "--plot: missing files"
    grep -q "Pareto front" fig.gp && grep -q "chosen: " fig.gp || fail "--plot: the script lacks the front or the chosen design"
    ok "--plot: PNG with the script and data"
else
    echo "skip: gnuplot not installed (--plot)"
fi

# ---- the verb ----
printf 'dse rows=16,32,64 cols=16:64:16 sram_kib=4,16,64 dram_gbps=12.8,25.6\n' > dse.tp
lines_before=$(wc -l < sparse/journal.txt)
"$TOPIARY" run dse.tp --session sparse > verb.out 2> verb.err || fail "verb: $(cat verb.err)"
grep -q "^Pareto front: $(awk -F'\t' 'NR > 1 && $11 == 1' sparse.tsv | wc -l) of $n designs" verb.out || fail "verb: front: $(cat verb.out)"
[ "$(wc -l < sparse/journal.txt)" -eq "$lines_before" ] || fail "verb: journaled"
"$TOPIARY" help dse > help.txt
grep -q "^usage: topiary dse --session DIR" help.txt && grep -q "^dse \[rows=LIST\]" help.txt || fail "help dse: $(head -3 help.txt)"
ok "the verb (not journaled) and help"

# ---- refusals: exit 2, the option and item named, nothing written ----
refuse() { # expected-message args...
    local want=$1 rc=0; shift
    "$TOPIARY" dse "$@" > /dev/null 2> bad.err || rc=$?
    [ "$rc" -eq 2 ] || fail "dse $*: exit $rc, expected 2 ($(cat bad.err))"
    grep -qF -- "$want" bad.err || fail "dse $*: message '$(cat bad.err)', expected '$want'"
}
refuse "rows: 'abc' is not a number" --session dense --rows 16,abc --out no.tsv
refuse "cols: 0 is out of range" --session dense --cols 0,16 --out no.tsv
refuse "sram_kib: range 64:16:8: expected A <= B and STEP > 0" --session dense --sram-kib 64:16:8
refuse "dram_gbps: empty item" --session dense --dram-gbps 12.8,
refuse "rows: 32 appears twice" --session dense --rows 32,64,32
refuse "expected FILE.png or FILE.svg" --session dense --plot fig.pdf
refuse "--session DIR is required" --rows 16
refuse "unknown option" --session dense --colums 16
refuse "batch 0: expected 1..100000" --session dense --batch 0
[ ! -e no.tsv ] || fail "a refused dse wrote its --out"
ok "bad lists and options refused (exit 2), nothing written"
