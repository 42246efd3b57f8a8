#!/usr/bin/env bash
# tests/e2e/average: weight averaging through the real binary, across processes.
#
#   `average start every=3` then training: the mean is saved with the session, so a later process
#   sees its samples; SIGTERM in the middle of a long train saves the mean with the state, and
#   `replay --verify` rebuilds both bit for bit; `eval average=1` scores the mean and leaves the
#   model as it was (the next `eval` reads the same perplexity as before); `average apply` changes
#   the perplexity to the one shown, and `undo` in another process brings the weights and the running
#   average back.  Refusals exit 2 with the reason and leave the journal as it was.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it).  Takes a few seconds.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
bg_pid=
trap '[ -n "$bg_pid" ] && kill -KILL "$bg_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
ppl() { sed -n 's/.*ppl \([0-9.]*\).*/\1/p' "$1" | tail -1; }

awk 'BEGIN { srand(5); for (i = 0; i < 600; i++) { l = ""; for (j = 0; j < 8; j++) l = l " w" int(rand() * rand() * 50); print l } }' > small.txt
opts="--data small.txt --level word --embed 16 --hidden 24 --bptt 10 --batch 8"
printf 'set decay_start=100000\ntrain steps=6\naverage start every=3\ntrain steps=7\n' > a.tp
"$TOPIARY" run a.tp --session s $opts > a.out 2> a.err || fail "average start, train: $(cat a.err)"
"$TOPIARY" run - --session s <<< 'average' > st.out || fail "average (status)"
grep -q "weight average: 2 samples, one every 3 steps since step 6" st.out || fail "status: $(cat st.out)"
grep -q $'\taverage start every=3[[:space:]]' s/journal.txt || fail "not journaled: $(cat s/journal.txt)"
ok "the mean is saved with the session: another process sees its 2 samples"

expect() { # expect CODE PATTERN script-line: exit code and a message on stderr, journal unchanged
    local code=$1 pat=$2 line=$3
    cp s/journal.txt journal.before
    set +e; "$TOPIARY" run - --session s <<< "$line" > out.txt 2> err.txt; local rc=$?; set -e
    [ "$rc" -eq "$code" ] || fail "$line: exit $rc, expected $code ($(cat err.txt))"
    grep -q -- "$pat" err.txt || fail "$line: stderr lacks '$pat': $(cat err.txt)"
    cmp -s journal.before s/journal.txt || fail "$line: a refusal changed the journal"
}
expect 2 "takes no keys" "average apply every=2"
expect 2 "every" "average start every=0"
expect 2 "goes with \`average start\`" "average every=4"
ok "refusals exit 2 with the reason, journal unchanged"

# SIGTERM in a long train: the mean is saved with the state it belongs to, and replay rebuilds both
printf 'set epochs=100000\ntrain steps=100000000\n' > long.tp
"$TOPIARY" run long.tp --session s > long.out 2> long.err &
bg_pid=$!
sleep 1.5
kill -0 "$bg_pid" 2>/dev/null || fail "the long train exited early: $(cat long.err)"
kill -TERM "$bg_pid"
rc=0
wait "$bg_pid" || rc=$?
bg_pid=
[ "$rc" -eq 1 ] || fail "SIGTERM: exit $rc, expected 1 ($(tail -2 long.err))"
step=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["step"])' s/manifest.json)
count=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["average"]["count"])' s/manifest.json)
[ "$count" -eq $(( (step - 6) / 3 )) ] || fail "SIGTERM: $count samples saved at step $step (expected $(( (step - 6) / 3 )))"
"$TOPIARY" replay --session s --verify > replay.txt 2>&1 || fail "replay --verify: $(tail -2 replay.txt)"
grep -q "verify: ok" replay.txt || fail "replay: $(tail -1 replay.txt)"
ok "SIGTERM at step $step saved the mean's $count samples; replay --verify rebuilds it bit for bit"

# eval average=1 changes nothing; apply makes the model the mean; undo (another process) brings both back
"$TOPIARY" run - --session s <<< 'eval' > e0.out
"$TOPIARY" run - --session s <<< 'eval average=1' > ea.out
grep -q "with the weight average: $count samples" ea.out || fail "eval average=1: $(cat ea.out)"
"$TOPIARY" run - --session s <<< 'eval' > e1.out
[ "$(ppl e0.out)" = "$(ppl e1.out)" ] || fail "eval average=1 changed the model: $(ppl e0.out) then $(ppl e1.out)"
[ "$(ppl e0.out)" != "$(ppl ea.out)" ] || fail "the mean scores exactly as the weights: $(ppl ea.out)"
printf 'average apply\neval\n' > apply.tp
"$TOPIARY" run apply.tp --session s > ap.out 2> ap.err || fail "average apply: $(cat ap.err)"
[ "$(ppl ap.out)" = "$(ppl ea.out)" ] || fail "apply: ppl $(ppl ap.out), the mean scored $(ppl ea.out)"
python3 -c 'import json,sys; sys.exit("average" in json.load(open(sys.argv[1]))["state"])' s/manifest.json \
    || fail "apply: the manifest still has an average"
"$TOPIARY" run - --session s <<< 'undo' > undo.out 2> undo.err || fail "undo: $(cat undo.err)"
"$TOPIARY" run - --session s <<< 'eval' > e2.out
[ "$(ppl e2.out)" = "$(ppl e0.out)" ] || fail "undo: ppl $(ppl e2.out), before apply $(ppl e0.out)"
"$TOPIARY" run - --session s <<< 'average' | grep -q "weight average: $count samples" || fail "undo: the average is gone"
ok "eval average=1 leaves the model; apply gives the mean's ppl ($(ppl ea.out)); undo brings weights and mean back"
