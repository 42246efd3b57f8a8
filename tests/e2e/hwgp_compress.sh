#!/usr/bin/env bash
# tests/e2e/hwgp_compress: latency targets and the hardware-guided schedule on the real binary.
#
#   `topiary profile --target cmd:NAME` with fake runtimes written here (a good one, one that fails,
#   one that hangs past its timeout, one that prints garbage, one whose `requires` fails): curves
#   that record the target, clear errors with the right exit codes, nothing written on failure;
#   `--target cuda` without a device exits 2; `topiary compress` on the accel target from a trained
#   session: journaled, hwgp.log and hwgp.json written, `replay --verify` reproduces it bit for bit;
#   the bench script runs on a tiny session (bench/bench_ptb_hwgp.sh --quick).
#
# $TOPIARY is the binary (the Makefile's e2e target sets it).  Takes a few seconds.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
repo=$PWD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

mkdir targets
export TOPIARY_TARGETS=$tmp/targets
printf 'description = fake runtime\ncommand = echo warm; echo $(( {hidden} / 16 + 1 ))\nrepeat = 2\n' > targets/fake.target
printf 'command = echo "model missing" >&2; exit 4\n' > targets/fails.target
printf 'command = sleep 20; echo 3\ntimeout_s = 0.5\nrepeat = 1\n' > targets/hangs.target
printf 'command = echo NaN-ish\n' > targets/garbage.target
printf 'command = echo 1\nrequires = echo "python3-torch is not installed" >&2; false\n' > targets/absent.target

"$TOPIARY" profile --target cmd:fake --sizes 16,32,48 --out fake.tsv --table > fake.txt || fail "cmd:fake: exit $?"
grep -q $'\ttarget=cmd:fake; ' fake.tsv || fail "latency TSV does not record the target"
grep -q "^      48 .*4.000" fake.txt || fail "cmd:fake: 48 -> 4 us: $(cat fake.txt)"
ok "cmd: target measured, target recorded in the TSV"

expect() { # expect CODE PATTERN args...: exit code and a message on stderr
    local code=$1 pat=$2; shift 2
    set +e; "$TOPIARY" "$@" > out.txt 2> err.txt; local rc=$?; set -e
    [ "$rc" -eq "$code" ] || fail "$*: exit $rc, expected $code ($(cat err.txt))"
    grep -q -- "$pat" err.txt || fail "$*: stderr lacks '$pat': $(cat err.txt)"
}
expect 1 "cmd:fails: command .* failed (exit status 4); it printed: (stderr) model missing" profile --target cmd:fails --sizes 8 --out f.tsv
[ ! -e f.tsv ] || fail "a failed measurement wrote its --out"
start=$(date +%s)
expect 1 "did not finish within 0.5 s (killed)" profile --target cmd:hangs --sizes 8
[ $(( $(date +%s) - start )) -lt 10 ] || fail "the hanging command was not killed in time"
expect 1 "printed 'NaN-ish' on its last line" profile --target cmd:garbage --sizes 8
expect 2 "unavailable here: .*python3-torch is not installed" profile --target cmd:absent --sizes 8
expect 2 "no nowhere.target in" profile --target cmd:nowhere --sizes 8
if ! "$TOPIARY" info 2>/dev/null | grep -qi "cuda.*device 0"; then
    expect 2 "target cuda" profile --target cuda --sizes 8
fi
ok "failing, hanging, garbage, unavailable and missing targets: clear errors and exit codes"

# ---- topiary compress on the accel target, then replay ----
# a small word corpus: evaluations stay fast
awk 'BEGIN { srand(7); for (i = 0; i < 600; i++) { l = ""; for (j = 0; j < 8; j++) l = l " w" int(rand() * rand() * 60); print l } }' > small.txt
printf 'train steps=30\n' > t.tp
"$TOPIARY" run t.tp --session sess --data small.txt --level word --hidden 40 --embed 16 --bptt 10 --batch 8 > /dev/null \
    || fail "training the session"
cp sess/journal.txt journal.before
expect 2 "give one of --budget-us X or --speedup R" compress --session sess --target accel
expect 1 "target cmd:fails" compress --session sess --target cmd:fails --speedup 2 --sizes 8,16
cmp -s journal.before sess/journal.txt || fail "a failed compress changed the journal"
[ ! -e sess/hwgp.json ] || fail "a failed compress wrote hwgp.json"
"$TOPIARY" compress --session sess --target accel:rows=64,cols=64 --speedup 3 --every 10 --batches 2 --phases 2 \
    --sizes 8:96:8 --tolerance 2 > compress.txt 2> compress.err || fail "compress: $(cat compress.err)"
grep -q "^hwgp done" compress.txt || fail "compress: $(cat compress.txt)"
grep -q "phase 1 dimensions: layer 0 40 -> " compress.txt || fail "compress: no resize: $(cat compress.txt)"
grep -q $'\tresize layer=0 hidden=' sess/journal.txt || fail "the resize is not journaled"
! grep -q "hwgp" sess/journal.txt || fail "the hwgp line itself was journaled"
grep -q '"stage":.*"done"' sess/hwgp.json || fail "hwgp.json: $(cat sess/hwgp.json)"
grep -q "phase 1 dimensions" sess/hwgp.log || fail "hwgp.log"
"$TOPIARY" replay --session sess --verify > replay.txt || fail "replay --verify: $(tail -2 replay.txt)"
grep -q "verify: ok" replay.txt || fail "replay: $(tail -1 replay.txt)"
"$TOPIARY" help compress | grep -q "usage: topiary compress" || fail "help compress"
"$TOPIARY" help schedule | grep -q "hwgp target=T" || fail "help schedule"
ok "compress (accel): journaled resizes, hwgp.json and hwgp.log, replay --verify bit for bit"

# ---- the PTB protocol script on the tiny session ----
cp -r sess base
bash "$repo/bench/bench_ptb_hwgp.sh" --session base --out bench --target accel:rows=64,cols=64 --speedup 2 --quick \
    > bench.txt 2> bench.err || fail "bench_ptb_hwgp --quick: $(tail -5 bench.err)"
[ -s bench/results.tsv ] || fail "bench: no results.tsv"
head -1 bench/results.tsv | grep -q "^model"$'\t'"params"$'\t'"nonzeros"$'\t'"test_ppl" || fail "bench: header $(head -1 bench/results.tsv)"
[ "$(wc -l < bench/results.tsv)" -ge 3 ] || fail "bench: expected dense and compressed rows"
[ -s bench/ppl_vs_nonzeros.gp ] && [ -s bench/latency_curve.gp ] || fail "bench: gnuplot scripts missing"
ok "bench_ptb_hwgp.sh --quick: results table and gnuplot scripts"

# ---- the protocol with per-group targets (the PTB 20x recipe's shape), then --measure ----
bash "$repo/bench/bench_ptb_hwgp.sh" --session base --out bench-t --target accel:rows=64,cols=64 --speedup 2 --quick \
    --targets 'l*.w_*:0.8:16x1+embed.weight:0.9+decoder.weight:0.9:4x4' --ramp 3 --retrain 5 --finetune 1 --average 2 \
    --max-hidden 40 --set 'dropout=0.1' > bench-t.txt 2> bench-t.err || fail "bench_ptb_hwgp --targets: $(tail -5 bench-t.err)"
grep -q "ramped 3 group(s)" bench-t/compress.txt || fail "bench --targets: no ramp: $(cat bench-t/compress.txt)"
grep -q "finetune: 1 epoch(s), [0-9]* steps, the weights averaged over [1-9]" bench-t/compress.txt \
    || fail "bench --targets: no averaged fine-tuning: $(cat bench-t/compress.txt)"
grep -q $'\taverage apply' bench-t/hwgp/journal.txt || fail "bench --average: the mean's apply is not journaled"
grep -q $'\tset dropout=0.1' bench-t/hwgp/journal.txt || fail "bench --set: not in the method's journal"
grep -q "^set dropout=0.1" bench-t/control.tp || fail "bench --set: not in the control's script"
nz=$(awk -F'\t' '$1 == "hwgp" { print $3 }' bench-t/results.tsv); all=$(awk -F'\t' '$1 == "hwgp" { print $2 }' bench-t/results.tsv)
[ -n "$nz" ] && [ "$nz" -lt $((all / 5)) ] || fail "bench --targets: non-zeros $nz of $all"
bash "$repo/bench/bench_ptb_hwgp.sh" --out bench-m --target accel:rows=64,cols=64 --quick --measure dense=base \
    --measure hwgp=bench-t/hwgp > bench-m.txt 2> bench-m.err || fail "bench --measure: $(tail -5 bench-m.err)"
[ "$(cut -f1 bench-m/results.tsv | tr '\n' ' ')" = "model dense hwgp " ] || fail "bench --measure: $(cut -f1 bench-m/results.tsv)"
ok "bench_ptb_hwgp.sh --targets (ramp, GP cycle, fine-tuning, --set) and --measure"

# ---- --tie: the method's copy ties its embedding and decoder first (weight tying), the control does not ----
"$TOPIARY" run t.tp --session tbase --data small.txt --level word --hidden 16 --embed 16 --bptt 10 --batch 8 > /dev/null \
    || fail "train the tie-able session"
bash "$repo/bench/bench_ptb_hwgp.sh" --session tbase --out bench-tie --target accel:rows=64,cols=64 --speedup 2 --quick \
    --tie decoder --targets 'l*.w_*:0.8+embed.weight:0.9' --ramp 3 --retrain 5 --finetune 1 --max-hidden 16 \
    > bench-tie.txt 2> bench-tie.err || fail "bench_ptb_hwgp --tie: $(tail -5 bench-tie.err)"
grep -q "^tied: embed.weight is now also the decoder's weight (taken from decoder.weight)" bench-tie/tie.txt \
    || fail "bench --tie: $(cat bench-tie/tie.txt)"
grep -q $'\ttie from=decoder' bench-tie/hwgp/journal.txt || fail "bench --tie: not in the method's journal"
[ "$(jq -r .tie bench-tie/export-hwgp/config.json)" = 1 ] || fail "bench --tie: the method's export is not tied"
[ "$(jq -r .tie bench-tie/export-control/config.json)" = 0 ] || fail "bench --tie: the control must stay untied"
"$TOPIARY" replay --session bench-tie/hwgp --verify > /dev/null || fail "bench --tie: replay --verify"
ok "bench_ptb_hwgp.sh --tie: the method ties first (journaled, exported tied, replayed), the control stays untied"
