#!/usr/bin/env bash
# tests/e2e/writer_lock: a session writes only inside itself and has one writer (issue 11, cases 1, 2, 6,
# 7 and the snapshot/signal items of 10), on the real binary and real processes:
#
#   1  symlinks planted where a session keeps snapshots are never followed when deleting: a symlinked
#      leftover (snapshots/undo-2.tmp) is removed as a link; a symlinked snapshot, snapshots/ itself or
#      an undo snapshot make a writer refuse the session (exit 2, "is a symlink"); the targets survive.
#   2  a new session only in an empty or absent directory: `train --session /`, an unrelated directory
#      and a damaged session (manifest.json deleted) are refused with exit 2 and left as they were;
#      `replay --out` needs an empty or absent directory; a bad --schedule or --data writes nothing.
#   6  one writer: a second `train` and a `run` are refused while `train` runs (exit 2, naming the
#      holder's pid), readers (eval, export) still work; the lock goes with SIGTERM and with kill -9 (the
#      next writer takes it over with a note); the workbench holds it for its whole run.
#   7  `snapshot name=initial` is refused; replay --verify stays ok.
#   10 a snapshot hidden by a kill between the two renames (NAME.old, no NAME) is back on the next
#      open; leftovers (snapshots/*.tmp, "*.tmp.XXXXXX") are removed; the workbench exits 143 on SIGTERM
#      and 129 on SIGHUP after saving.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.  Prints
# "ok: <check>" per check and stops at the first failure.  Takes about 30 s.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "FAIL: tmux is needed (make deps installs it)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-lock-XXXXXX")
sock="$tmp/tmux.sock"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    tmux -S "$sock" kill-server 2>/dev/null || true
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
# a private copy of the binary (a rebuild during the test must not swap it), the corpus beside it
mkdir -p bin
cp "$TOPIARY" bin/topiary
ln -s "$(cd "$(dirname "$TOPIARY")/.." && pwd)/data" data
T=$tmp/bin/topiary
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
task=(--hidden 16 --layers 1 --embed 8 --bptt 10 --batch 4 --threads 1 --log-every 2)
# expect_rc CODE CMD...: run it, its stderr in $err, and check the exit code
expect_rc() {
    local want=$1; shift
    set +e; err=$("$@" 2>&1 >/dev/null); local rc=$?; set -e
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $* -- $err"
}
new_session() { rm -rf "$1"; $T train --session "$1" "${task[@]}" --max-steps 2 >/dev/null 2>&1 || fail "create $1"; }
verify() { $T replay --session "$1" --verify 2>&1 | grep -q "verify: ok" || fail "replay --verify of $1: $($T replay --session "$1" --verify 2>&1 | tail -3)"; }
# wait_lock DIR: until a writer holds DIR/lock (its text names the holder)
wait_lock() { for _ in $(seq 100); do [ -s "$1/lock" ] && return 0; sleep 0.1; done; fail "no writer lock in $1"; }
mkdir V; echo x > V/precious.txt
precious() { [ "$(cat V/precious.txt 2>/dev/null)" = x ] || fail "$1: V/precious.txt was deleted"; }

# ---- 1. deleting never follows a symlink ---------------------------------------------------------
new_session S
ln -s "$tmp/V" S/snapshots/undo-2.tmp
$T train --session S --max-steps 2 >/dev/null 2>&1 || fail "case 1: train with a symlinked leftover failed"
precious "case 1 (symlinked undo-2.tmp)"
[ ! -e S/snapshots/undo-2.tmp ] && [ ! -L S/snapshots/undo-2.tmp ] || fail "case 1: the symlinked leftover is still there"
ok "1: a symlinked snapshots/undo-2.tmp is removed as a link; its target's files survive"
new_session S
ln -s "$tmp/V" S/snapshots/a
printf 'snapshot name=a\n' > snap.tp
expect_rc 2 $T run snap.tp --session S
precious "case 1 (snapshot name=a over a symlink)"
echo "$err" | grep -q "snapshots/a is a symlink" || fail "case 1: unclear refusal: $err"
rm S/snapshots/a
ok "1: a symlinked snapshot makes a writer refuse the session, naming it"
mv S/snapshots/undo-1 S/undo-1.real; ln -s "$tmp/V" S/snapshots/undo-1
expect_rc 2 $T train --session S --max-steps 2
precious "case 1 (symlinked undo-1 in the ring)"
rm S/snapshots/undo-1; mv S/undo-1.real S/snapshots/undo-1
mv S/snapshots S/snapshots.real; ln -s "$tmp/V" S/snapshots
expect_rc 2 $T train --session S --max-steps 2
precious "case 1 (symlinked snapshots/)"
echo "$err" | grep -q "snapshots is a symlink" || fail "case 1: unclear refusal: $err"
rm S/snapshots; mv S/snapshots.real S/snapshots
$T train --session S --max-steps 2 >/dev/null 2>&1 || fail "case 1: the repaired session does not train"
verify S
ok "1: a symlinked undo snapshot or snapshots/ is refused; the targets survive"

# ---- 2. a new session only in an empty or absent directory ---------------------------------------
before=$(ls -a /)
expect_rc 2 $T train --session / "${task[@]}" --max-steps 1
[ "$(ls -a /)" = "$before" ] || fail "case 2: train --session / changed /"
echo "$err" | grep -q "not empty and is not a session" || fail "case 2: unclear message for /: $err"
mkdir U; echo mine > U/notes.txt
expect_rc 2 $T train --session U "${task[@]}" --max-steps 1
[ "$(ls -A U)" = "notes.txt" ] || fail "case 2: files were added to an unrelated directory: $(ls -A U)"
expect_rc 2 $T run snap.tp --session U "${task[@]}"
[ "$(ls -A U)" = "notes.txt" ] || fail "case 2: run added files to an unrelated directory: $(ls -A U)"
ok "2: / and an unrelated non-empty directory are not made sessions (exit 2, untouched)"
new_session S
sum=$(md5sum < S/model.safetensors); isum=$(md5sum < S/snapshots/initial/model.safetensors)
rm S/manifest.json
listing=$(ls -AR S)
expect_rc 2 $T train --session S "${task[@]}" --max-steps 1
[ "$(md5sum < S/model.safetensors)" = "$sum" ] && [ "$(md5sum < S/snapshots/initial/model.safetensors)" = "$isum" ] ||
    fail "case 2: a session without manifest was re-created over its files"
echo "$err" | grep -q "damaged session" && echo "$err" | grep -q "snapshots" || fail "case 2: unclear message: $err"
[ "$(ls -AR S)" = "$listing" ] || fail "case 2: the refusal changed the damaged session's files"
ok "2: a damaged session is never re-created over its files; the message says how to recover"
new_session S
mkdir R; echo old > R/journal.txt
expect_rc 2 $T replay --session S --out R
[ "$(cat R/journal.txt)" = "old" ] && [ "$(ls -A R)" = "journal.txt" ] || fail "case 2: replay --out wrote into a non-empty directory"
mkdir R2
$T replay --session S --out R2 >/dev/null 2>&1 || fail "case 2: replay --out into an empty directory failed"
$T eval --session R2 --split valid >/dev/null 2>&1 || fail "case 2: the replayed session does not open"
ok "2: replay --out refuses a non-empty directory and fills an empty one"
expect_rc 2 $T train --session N "${task[@]}" --schedule 'agp start=10 end=5' --max-steps 1
[ ! -e N ] || fail "case 2: a bad --schedule created the session: $(ls -A N)"
expect_rc 2 $T train --session N "${task[@]}" --schedule 'agp from=2' --max-steps 1
[ ! -e N ] || fail "case 2: a bad --schedule created the session: $(ls -A N)"
expect_rc 2 $T train --session N "${task[@]}" --data "$tmp/no-such-corpus.txt" --max-steps 1
[ ! -e N ] || fail "case 2: a bad --data created the session"
$T train --session N "${task[@]}" --schedule 'agp from=0 to=0.5 span=4 every=2' --max-steps 4 >/dev/null 2>&1 ||
    fail "case 2: a good --schedule on a new session failed"
verify N
ok "2: a bad --schedule or --data on a new session exits 2 and writes nothing"

# ---- 6. one writer per session -------------------------------------------------------------------
new_session S
$T train --session S --max-steps 100000 --epochs 1000 >/dev/null 2>&1 &
first=$!; pids+=("$first")
wait_lock S
expect_rc 2 $T train --session S --max-steps 2
echo "$err" | grep -q "in use by pid $first, topiary train" || fail "case 6: the message does not name the holder: $err"
printf 'prune ratio=0.5\n' > p.tp
expect_rc 2 $T run p.tp --session S
echo "$err" | grep -q "in use by pid $first" || fail "case 6: run's refusal does not name the holder: $err"
$T eval --session S --split valid >/dev/null 2>&1 || fail "case 6: eval (a reader) was refused while train runs"
$T export --session S --out X >/dev/null 2>&1 || fail "case 6: export (a reader) was refused while train runs"
kill -TERM "$first"; wait "$first" || true
$T run p.tp --session S >/dev/null 2>&1 || fail "case 6: the lock was not released after SIGTERM"
verify S
ok "6: a second writer (train, run) is refused naming the holder; readers work; SIGTERM releases"
$T train --session S --max-steps 100000 --epochs 1000 >/dev/null 2>&1 &
p=$!; pids+=("$p")
wait_lock S
sleep 0.3
kill -KILL "$p"; wait "$p" 2>/dev/null || true
set +e; out=$($T train --session S --max-steps 2 2>&1); rc=$?; set -e
[ "$rc" = 0 ] || fail "case 6: a dead holder's lock was not taken over: $out"
echo "$out" | grep -q "took over the session lock left by pid $p" || fail "case 6: no takeover note: $out"
ok "6: a holder killed with -9: the next writer takes the lock over, with a note"

# ---- 7. the creation snapshot stays ----------------------------------------------------------------
printf 'snapshot name=initial\n' > init.tp
isum=$(md5sum < S/snapshots/initial/model.safetensors)
expect_rc 2 $T run init.tp --session S
echo "$err" | grep -q "reserved" || fail "case 7: unclear message: $err"
[ "$(md5sum < S/snapshots/initial/model.safetensors)" = "$isum" ] || fail "case 7: snapshots/initial changed"
verify S
ok "7: snapshot name=initial is refused; replay --verify stays ok"

# ---- 10. snapshot replacement, leftovers ---------------------------------------------------------
new_session S
$T run snap.tp --session S >/dev/null 2>&1 || fail "snapshot name=a"
mv S/snapshots/a S/snapshots/a.old                       # killed between fin -> old and tmp -> fin
mkdir S/snapshots/b.tmp; echo half > S/snapshots/b.tmp/model.safetensors   # killed while writing b
ln -s "$tmp/V" S/snapshots/c.tmp                          # a planted link with a leftover's name
echo partial > S/model.safetensors.tmp.Ab3xZ9             # killed during an atomic save
$T eval --session S --split valid >/dev/null 2>&1 || fail "case 10: eval"
[ -e S/model.safetensors.tmp.Ab3xZ9 ] || fail "case 10: a reader removed files"
printf 'snapshots\n' > list.tp
out=$($T run list.tp --session S 2>&1) || fail "case 10: run snapshots: $out"
echo "$out" | grep -qw "a" || fail "case 10: snapshot a is not back: $out"
[ -d S/snapshots/a ] && [ ! -e S/snapshots/a.old ] || fail "case 10: a.old was not renamed back"
for f in S/snapshots/b.tmp S/snapshots/c.tmp S/model.safetensors.tmp.Ab3xZ9; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "case 10: the leftover $f survived the next open"
done
precious "case 10 (symlinked c.tmp)"
printf 'restore name=a\n' > restore.tp
$T run restore.tp --session S >/dev/null 2>&1 || fail "case 10: the recovered snapshot does not restore"
ok "10: a snapshot hidden by a kill between its renames is back; leftovers are removed on the next open"

# ---- 6 and 10: the workbench holds the lock, and exits 128+signal after saving ---------------------
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color
for sig in TERM HUP; do
    new_session W
    tmux -S "$sock" new-session -d -s "tui$sig" -x 80 -y 24 \
        "$T tui --session $tmp/W 2>$tmp/tui.err; echo \$? > $tmp/tui.rc; sleep 30"
    wait_lock W
    holder=$(sed -n 's/^pid \([0-9]*\),.*/\1/p' W/lock)
    [ -n "$holder" ] || fail "case 6: no pid in the workbench's lock: $(cat W/lock)"
    expect_rc 2 $T run p.tp --session W
    echo "$err" | grep -q "in use by pid $holder, topiary tui" || fail "case 6: run beside the workbench: $err"
    rm -f tui.rc
    kill -"$sig" "$holder"
    for _ in $(seq 100); do [ -s tui.rc ] && break; sleep 0.1; done
    [ -s tui.rc ] || fail "the workbench did not exit on SIG$sig"
    want=$([ $sig = TERM ] && echo 143 || echo 129)
    [ "$(cat tui.rc)" = "$want" ] || fail "case 10: the workbench exited $(cat tui.rc) on SIG$sig (want $want): $(cat tui.err)"
    grep -q "session saved" tui.err || fail "case 10: the workbench did not save on SIG$sig: $(cat tui.err)"
    $T run p.tp --session W >/dev/null 2>&1 || fail "case 6: the workbench's lock was not released"
    verify W
    tmux -S "$sock" kill-session -t "tui$sig" 2>/dev/null || true
done
ok "6/10: the workbench holds the lock; SIGTERM/SIGHUP save and exit 143/129"
echo "writer_lock: all checks passed"
