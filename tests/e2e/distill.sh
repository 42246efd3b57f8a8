#!/usr/bin/env bash
# tests/e2e/distill: knowledge distillation through the real binary.
#
#   A teacher is trained and exported; `topiary compress --distill EXPORT:0.6` on a student journals
#   `distill teacher="ABS" alpha=0.6 crc32=...` before the schedule's trains, `replay --verify`
#   reproduces the run bit for bit, and the teacher's files are byte for byte what they were (nothing
#   outside the session is written).  Bad teachers exit 2 with the reason and change nothing; a
#   teacher re-exported after it was chosen lets the session open and evaluate but stops training
#   (exit 2, bad input: "distill off" in the message) until `distill off`.
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

awk 'BEGIN { srand(3); for (i = 0; i < 600; i++) { l = ""; for (j = 0; j < 8; j++) l = l " w" int(rand() * rand() * 50); print l } }' > small.txt
opts="--data small.txt --level word --embed 16 --bptt 10 --batch 8"
printf 'train steps=40\n' > t.tp
"$TOPIARY" run t.tp --session teacher $opts --hidden 48 > /dev/null || fail "training the teacher"
"$TOPIARY" export --session teacher --out teacher-x > /dev/null 2>&1 || fail "export"
"$TOPIARY" run t.tp --session student $opts --hidden 16 > /dev/null || fail "training the student"
cp -r student plain
sums() { (cd teacher-x && cksum -- *) ; }
sums > teacher.before

expect() { # expect CODE PATTERN args...: exit code and a message on stderr
    local code=$1 pat=$2; shift 2
    set +e; "$TOPIARY" "$@" > out.txt 2> err.txt; local rc=$?; set -e
    [ "$rc" -eq "$code" ] || fail "$*: exit $rc, expected $code ($(cat err.txt))"
    grep -q -- "$pat" err.txt || fail "$*: stderr lacks '$pat': $(cat err.txt)"
}
cp student/journal.txt journal.before
printf 'distill teacher=teacher\n' > bad.tp   # a session, not an export
expect 2 "export" run bad.tp --session student
printf 'distill teacher=nowhere\n' > bad.tp
expect 2 "no such directory" run bad.tp --session student
expect 2 "alpha 1.5 is not in 0..1" compress --session student --target accel --speedup 2 --distill teacher-x:1.5
cmp -s journal.before student/journal.txt || fail "a refused teacher changed the journal"
ok "bad teachers: exit 2 with the reason, journal unchanged"

"$TOPIARY" compress --session student --target accel:rows=64,cols=64 --speedup 2 --every 10 --batches 2 --phases 1 \
    --sizes 8:32:8 --tolerance 50 --distill teacher-x:0.6 > compress.txt 2> compress.err || fail "compress: $(cat compress.err)"
grep -q "^distilling from $tmp/teacher-x" compress.txt || fail "compress: $(head -3 compress.txt)"
grep -q $'\tdistill teacher="'"$tmp"'/teacher-x" alpha=0.6 crc32=[0-9a-f]\{8\}[[:space:]]' student/journal.txt \
    || fail "the distill line is not journaled: $(grep distill student/journal.txt)"
"$TOPIARY" run - --session student <<< 'status' | grep -q "distilling from" || fail "status"
"$TOPIARY" replay --session student --verify > replay.txt || fail "replay --verify: $(tail -2 replay.txt)"
grep -q "verify: ok" replay.txt || fail "replay: $(tail -1 replay.txt)"
sums | cmp -s - teacher.before || fail "the teacher's files changed"
ok "compress --distill: journaled with the teacher's CRC32, replay --verify bit for bit, teacher untouched"

# the teacher is re-exported from another model: the student still opens and evaluates, training stops
printf 'train steps=5\n' > more.tp
"$TOPIARY" run more.tp --session teacher > /dev/null || fail "training the teacher more"
"$TOPIARY" export --session teacher --out teacher-x > /dev/null 2>&1 || fail "re-export"
"$TOPIARY" eval --session student > /dev/null 2>&1 || fail "eval of a session whose teacher changed"
expect 2 "distill off" run more.tp --session student
printf 'distill off\ntrain steps=5\n' > off.tp
"$TOPIARY" run off.tp --session student > /dev/null 2> off.err || fail "distill off, then train"
! grep -q "recovered" off.err || fail "the refused train left work to recover: $(cat off.err)"
ok "a changed teacher stops training only, with the way out; distill off trains again"
