#!/usr/bin/env bash
# tests/e2e/cli_profile: `topiary profile` end to end on the real binary.
#
#   the accelerator model: table, hysteresis points with their tile boundary, TSV out, --json;
#   a tiny measured sweep (3 sizes, 3 rounds): TSV with the DESIGN 2.3 header, analysis printed;
#   --analyze of two files compares the sweeps; a malformed TSV exits 2 naming the line;
#   sparse patterns on a measured backend run the sparse kernels; the profile and recommend
#   verbs in a script append to the session's latency.tsv.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it).  Takes a few seconds.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
header=$'backend\tthreads\tbatch\tseq\thidden\tsparsity\tpattern\tmedian_us\tp10_us\tp90_us'

# ---- the accelerator model ----
"$TOPIARY" profile --backend accel --sizes 16:256:8 > accel.txt || fail "accel profile: exit $?"
grep -q "^      32 .*hysteresis point" accel.txt || fail "accel: 32 not marked as a hysteresis point"
grep -q "32: .*cross a multiple of the 128 columns" accel.txt || fail "accel: no tile explanation for the step after 32"
"$TOPIARY" profile --backend accel --sizes 16:256:8 --pattern row --sparsity 0.75 --out row.tsv --json > row.json
head -1 row.tsv | grep -q "^$header" || fail "accel TSV: header is not the DESIGN 2.3 one"
[ "$(wc -l < row.json)" -eq 1 ] || fail "--json: expected one line"
grep -q '"format":"topiary-latency"' row.json && grep -q '"hysteresis":\[' row.json || fail "--json: missing keys"
ok "accel model: staircase, tile explanations, TSV and JSON"

# ---- a tiny measured sweep ----
"$TOPIARY" profile --sizes 8,16,24 --reps 3 --threads 1 --out a.tsv > a.txt 2> a.err || fail "measured profile: $(cat a.err)"
head -1 a.tsv | grep -q "^$header" || fail "measured TSV header"
[ "$(wc -l < a.tsv)" -eq 4 ] || fail "measured TSV: expected 3 rows"
grep -q "^latency profile: cpu, 1 thread, batch 1" a.txt || fail "measured report: $(head -1 a.txt)"
"$TOPIARY" profile --sizes 8,16,24 --reps 3 --threads 1 --seed 2 --out b.tsv > /dev/null 2>&1
"$TOPIARY" profile --analyze a.tsv --analyze b.tsv > ab.txt || fail "--analyze: exit $?"
grep -q "^repeatability .* agree within the noise band" ab.txt || fail "--analyze: no repeatability line"
ok "measured sweep: TSV, report, repeatability of two sweeps"

# ---- refusals ----
{ printf '%s\n' "$header"; printf 'cpu\t1\t1\t1\t16\t0\tdense\t5\t4\t6\n'; printf 'cpu\t1\t1\t1\t32\t0\tdense\t5\t6\t7\n'; } > bad.tsv
rc=0; "$TOPIARY" profile --analyze bad.tsv > /dev/null 2> bad.err || rc=$?
[ "$rc" -eq 2 ] || fail "malformed TSV: exit $rc, expected 2"
grep -q "bad.tsv: line 3: expected p10_us <= median_us <= p90_us" bad.err || fail "malformed TSV message: $(cat bad.err)"
"$TOPIARY" profile --sizes 32,64 --reps 3 --sparsity 0.9 --pattern csr --out sp.tsv > /dev/null 2> sp.err \
    || fail "sparse measured profile: $(cat sp.err)"
[ "$(awk -F'\t' 'NR > 1 {print $6 "/" $7}' sp.tsv | sort -u)" = "0.9/csr" ] || fail "sparse profile rows: $(cat sp.tsv)"
"$TOPIARY" profile --sizes 32,64 --reps 3 --sparsity 0.9 --pattern block --out blk.tsv > /dev/null 2> blk.err \
    || fail "block profile: $(cat blk.err)"
[ "$(awk -F'\t' 'NR > 1 {print $6 "/" $7}' blk.tsv | sort -u)" = "0.9/block16x1" ] || fail "block profile rows: $(cat blk.tsv)"
"$TOPIARY" profile --sizes 32 --reps 3 --sparsity 0.9 --pattern block --block 4x4 --json > blk.json 2> blk.err \
    || fail "block 4x4 profile: $(cat blk.err)"
grep -q '"pattern":"block4x4"' blk.json || fail "block 4x4 profile: $(head -c 300 blk.json)"
rc=0; "$TOPIARY" profile --sizes 32 --sparsity 0.9 --pattern csr --block 4x4 > /dev/null 2> blk.err || rc=$?
[ "$rc" -eq 2 ] || fail "--block without --pattern block: exit $rc"
rc=0; "$TOPIARY" profile --sizes 64:8:8 > /dev/null 2> sz.err || rc=$?
[ "$rc" -eq 2 ] || fail "bad --sizes: exit $rc"
ok "malformed TSV (line number), bad sizes: exit 2; csr and block (16x1, 4x4) profiles are measured (engine/sparse)"

# ---- the verbs in a session ----
printf 'profile backend=accel sizes=16:256:8\nrecommend layer=0\nrecommend budget_us=3\n' > s.tp
"$TOPIARY" run s.tp --session sess --hidden 40 --embed 16 > run.out 2> run.err || fail "verbs: $(cat run.err)"
head -1 sess/latency.tsv | grep -q "^$header" || fail "session latency.tsv header"
grep -q "layer 0: hidden 40 .*no slower than now: up to 64" run.out || fail "recommend: $(grep 'layer 0' run.out)"
grep -q "within 3 us .* the most capacity is hidden 64" run.out || fail "recommend budget: $(grep 'within' run.out)"
ok "profile and recommend verbs: latency.tsv appended, recommendations"
