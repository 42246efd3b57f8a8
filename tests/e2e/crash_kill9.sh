#!/usr/bin/env bash
# tests/e2e/crash_kill9: crash safety of the session directory (DESIGN 2.3, issue 7), on the real binary.
#
#   kill -9 of `topiary run` at random points (20 times, 0.05-1.5 s after the start, from $RANDOM)
#   while its script alternates `train steps=5` (each takes an undo snapshot and journals) and `save`:
#   after every kill `topiary eval` opens the session (a complete state), the saved step never goes
#   back, and every journal line is whole; then a run to completion still works.
#   Replay: a short script (train, snapshot, train, undo, set lr, train, prune, train, grow, undo,
#   restore, train) run to the end,
#   then `topiary replay --verify` prints "verify: ok"; with the journal's last line removed it reports
#   a mismatch.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
# Prints "ok: <name>" per check and stops at the first failure.  Takes about 30 s.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to read the manifest" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-kill9-XXXXXX")
bg_pid=
cleanup() {
    if [ -n "$bg_pid" ]; then kill -KILL "$bg_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
# A private copy of the binary (a rebuild during the test must not swap it underneath the kills),
# with the bundled corpus where it looks for it: next to the binary, in ../data.
mkdir -p "$tmp/bin"
cp "$TOPIARY" "$tmp/bin/topiary"
ln -s "$(cd "$(dirname "$TOPIARY")/.." && pwd)/data" "$tmp/data"
TOPIARY=$tmp/bin/topiary

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# the bundled corpus, a small model, short windows: a save every few milliseconds
task=(--hidden 32 --embed 16 --bptt 20 --batch 8 --epochs 1000 --log-every 5 --threads 1)
ITER=${KILL9_ITERATIONS:-20}

saved_step() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["step"])' "$1/manifest.json"; }

# Every journal line has step<TAB>time<TAB>command<TAB>result, the step a number; a torn last line
# (no newline) would be tolerated, but kill -9 cannot tear a single write(2).
check_journal() {
    python3 - "$1/journal.txt" <<'EOF'
import os, sys
if not os.path.exists(sys.argv[1]):
    sys.exit(0)  # killed before the first command finished: no journal yet
data = open(sys.argv[1], "rb").read().decode()
lines = data.split("\n")
if lines and lines[-1] == "":
    lines.pop()
elif lines:
    sys.exit(f"journal: torn last line {lines[-1]!r}")
for n, l in enumerate(lines, 1):
    f = l.split("\t")
    if len(f) != 4 or not f[0].isdigit() or not f[2]:
        sys.exit(f"journal line {n} is not whole: {l!r}")
EOF
}

# ---- a session to kill: created by a run that is not killed ----
S=$tmp/s
printf 'status\n' >"$tmp/status.txt"
"$TOPIARY" run "$tmp/status.txt" --session "$S" "${task[@]}" >"$tmp/create.out" 2>"$tmp/create.err" \
    || fail "creating the session: $(cat "$tmp/create.err")"
for _ in $(seq 1 400); do printf 'train steps=5\nsave\n'; done >"$tmp/loop.txt"

prev=$(saved_step "$S")
for i in $(seq 1 "$ITER"); do
    ms=$((50 + RANDOM % 1451))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    "$TOPIARY" run "$tmp/loop.txt" --session "$S" >"$tmp/run.out" 2>"$tmp/run.err" &
    bg_pid=$!
    sleep "$delay"
    kill -KILL "$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
    bg_pid=
    "$TOPIARY" eval --session "$S" --split valid --eval-batch 8 >"$tmp/eval.out" 2>"$tmp/eval.err" \
        || fail "kill $i (after ${delay}s): eval does not open the session: $(cat "$tmp/eval.err")"
    grep -q "ppl" "$tmp/eval.out" || fail "kill $i: eval printed no perplexity: $(cat "$tmp/eval.out")"
    step=$(saved_step "$S")
    [ "$step" -ge "$prev" ] || fail "kill $i (after ${delay}s): the saved step went back from $prev to $step"
    check_journal "$S" || fail "kill $i (after ${delay}s): journal"
    ok "kill -9 $i/$ITER after ${delay}s: the session opens at step $step"
    prev=$step
done
[ "$prev" -gt 0 ] || fail "no kill happened after a save (step still 0): the runs never got going"

printf 'train steps=5\nsave\n' >"$tmp/last.txt"
"$TOPIARY" run "$tmp/last.txt" --session "$S" >"$tmp/last.out" 2>"$tmp/last.err" \
    || fail "a run after the kills failed: $(cat "$tmp/last.err")"
[ "$(saved_step "$S")" -eq $((prev + 5)) ] || fail "the run after the kills did not continue from step $prev"
"$TOPIARY" eval --session "$S" --split valid --eval-batch 8 >/dev/null 2>"$tmp/eval.err" \
    || fail "eval after the last run: $(cat "$tmp/eval.err")"
ok "after $ITER kills a run continues from step $prev and the session still opens"

# ---- replay --verify on a session that was not killed ----
R=$tmp/r
cat >"$tmp/replay.txt" <<'EOF'
# a short history with every kind of step replay must repeat
train steps=20
snapshot name=a
train steps=10
undo
set lr=0.5
train steps=10
prune ratio=0.3
train steps=5
grow ratio=0.5 batches=2
undo
restore name=a
train steps=5
eval
EOF
"$TOPIARY" run "$tmp/replay.txt" --session "$R" "${task[@]}" >"$tmp/r.out" 2>"$tmp/r.err" \
    || fail "replay script: $(cat "$tmp/r.err")"
[ "$(saved_step "$R")" -eq 25 ] || fail "replay script: expected step 25, got $(saved_step "$R")"
"$TOPIARY" replay --session "$R" --verify >"$tmp/v.out" 2>"$tmp/v.err" \
    || fail "replay --verify: exit status $? ($(cat "$tmp/v.out" "$tmp/v.err"))"
grep -q "^verify: ok" "$tmp/v.out" || fail "replay --verify did not print 'verify: ok': $(cat "$tmp/v.out")"
ok "replay --verify of train/snapshot/train/undo/set lr/train/prune/train/grow/undo/restore/train: verify: ok"

cp -r "$R" "$tmp/r2"
sed -i '$d' "$tmp/r2/journal.txt"   # forget the last train
rc=0
"$TOPIARY" replay --session "$tmp/r2" --verify >"$tmp/v2.out" 2>"$tmp/v2.err" || rc=$?
[ "$rc" -ne 0 ] || fail "replay --verify with a journal line missing: exit status 0 ($(cat "$tmp/v2.out"))"
grep -q "^verify: MISMATCH" "$tmp/v2.out" || fail "replay --verify with a line missing: no MISMATCH: $(cat "$tmp/v2.out" "$tmp/v2.err")"
ok "replay --verify with the journal's last line removed reports a mismatch (exit $rc)"

echo "crash_kill9: all checks passed"
