#!/usr/bin/env bash
# tests/e2e/workbench_friction: issue 14's friction items on the real binary, on a small slice of the
# bundled corpus (data/tinyshakespeare.txt):
#   1  undo of more than undo_confirm training steps is refused (exit 2, saying how to go ahead) and
#      changes nothing; `undo force=1` goes back and cuts metrics.tsv to the restored step; `redo` goes
#      forward again with its rows; another change ends the redo chain; replay --verify is bit exact
#   2  `topiary train --schedule agp ...` prints a log line per pruning, writes events.tsv and a
#      metrics row per event (log_every 100: a 40-step run still shows each pruning), journals the
#      annotations, and replay --verify checks them
#   3  each event carries the slice perplexity before and after (first 2000 validation tokens)
#   4  status names both sparsity figures; prune ratio= says what it removed
# Prints "ok: <name>" per check and stops at the first failure.  About 10 s on 2 cores.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
DATA=$(cd "$(dirname "$TOPIARY")/.." && pwd)/data/tinyshakespeare.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-friction-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
head -c 60000 "$DATA" >"$tmp/small.txt"
task=(--data "$tmp/small.txt" --hidden 16 --layers 1 --embed 8 --bptt 10 --batch 64 --threads 1 --log-every 100 --epochs 9)
S=$tmp/s
T=$TOPIARY
verify() { $T replay --session "$1" --verify 2>&1 | grep -q "^verify: ok" || fail "replay --verify of $1: $($T replay --session "$1" --verify 2>&1 | tail -2)"; }
max_step() { tail -n +2 "$1/metrics.tsv" | cut -f1 | sort -n | tail -1; }
rows() { tail -n +2 "$1/metrics.tsv" | wc -l; }
steps_sorted() { local col; col=$(tail -n +2 "$1/metrics.tsv" | cut -f1); [ "$col" = "$(echo "$col" | sort -n)" ]; }

# ---- 2, 3: a schedule's prunings are seen ----
$T train --session "$S" "${task[@]}" --max-steps 40 --schedule "agp from=0.2 to=0.8 start=0 end=30 every=10" \
    >/dev/null 2>"$tmp/train.err" || fail "train: $(cat "$tmp/train.err")"
[ "$(grep -c "^schedule: step [0-9]*: pruned " "$tmp/train.err")" = 4 ] || fail "train log: $(cat "$tmp/train.err")"
grep -q "^schedule: step 30: pruned .*sparsity: model .* (prunable matrices 80.0 %); slice ppl .* first 2000 validation tokens" \
    "$tmp/train.err" || fail "train log line: $(grep schedule "$tmp/train.err" | tail -1)"
ok "topiary train logs each pruning of the schedule with its slice perplexity before and after"
[ "$(tail -n +2 "$S/events.tsv" | wc -l)" = 4 ] || fail "events.tsv: $(cat "$S/events.tsv")"
[ "$(tail -n +2 "$S/events.tsv" | cut -f1-3 | tr '\t\n' ' ')" = "0 prune schedule 10 prune schedule 20 prune schedule 30 prune schedule " ] \
    || fail "events.tsv rows: $(cat "$S/events.tsv")"
[ "$(rows "$S")" -ge 4 ] || fail "metrics.tsv has $(rows "$S") rows for 4 events: $(cat "$S/metrics.tsv")"
ok "events.tsv holds the 4 prunings and metrics.tsv a row at each"
[ "$(grep -c "	event step=[0-9]* kind=prune nnz=[0-9]*	" "$S/journal.txt")" = 4 ] || fail "journal: $(cat "$S/journal.txt")"
verify "$S"
ok "the journal annotates the prunings; replay --verify checks them and is bit exact"

# ---- 4: the sparsity figures, named ----
$T run - --session "$S" <<<"status" >"$tmp/status.out" 2>&1 || fail "status: $(cat "$tmp/status.out")"
grep -q "sparsity: model [0-9.]* % (prunable matrices 80.0 %)" "$tmp/status.out" || fail "status: $(cat "$tmp/status.out")"
printf 'schedule none\nprune ratio=0.5\n' >"$tmp/prune.tp"
$T run "$tmp/prune.tp" --session "$S" >"$tmp/prune.out" 2>&1 || fail "prune: $(cat "$tmp/prune.out")"
grep -q "pruned 49.[0-9] % of the live weights of the selected matrices" "$tmp/prune.out" || fail "prune: $(cat "$tmp/prune.out")"
grep -q "their sparsity 79.9[0-9] % -> 89.9[0-9] %" "$tmp/prune.out" || fail "prune: $(cat "$tmp/prune.out")"
grep -q "sparsity=S prunes to S" "$tmp/prune.out" || fail "prune (ratio vs sparsity): $(cat "$tmp/prune.out")"
ok "status and prune name the model's and the prunable matrices' sparsity; ratio= says it pruned a share of the live weights"

# ---- 1: undo asks first, redo, metrics never go back ----
$T train --session "$S" --max-steps 250 >/dev/null 2>&1 || fail "train 250"
before=$(max_step "$S")
cp "$S/journal.txt" "$tmp/journal.before"
rc=0; $T run - --session "$S" <<<"undo" >"$tmp/undo.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "undo of 250 steps: exit $rc: $(cat "$tmp/undo.out")"
grep -q "goes back 250 training steps.*'undo force=1' does it" "$tmp/undo.out" || fail "undo refusal: $(cat "$tmp/undo.out")"
cmp -s "$S/journal.txt" "$tmp/journal.before" || fail "a refused undo changed the journal"
[ "$(max_step "$S")" = "$before" ] || fail "a refused undo changed metrics.tsv"
ok "undo of 250 steps asks first (exit 2, how to go ahead) and changes nothing"
$T run - --session "$S" <<<"undo force=1" >"$tmp/undo.out" 2>&1 || fail "undo force=1: $(cat "$tmp/undo.out")"
back=$(grep -o "back at step [0-9]*" "$tmp/undo.out" | grep -o "[0-9]*$")
[ "$(max_step "$S")" -le "$back" ] || fail "metrics.tsv goes to step $(max_step "$S") after an undo to step $back"
steps_sorted "$S" || fail "metrics.tsv steps go backwards: $(cut -f1 "$S/metrics.tsv" | tr '\n' ' ')"
ok "undo force=1 goes back to step $back and cuts metrics.tsv there"
$T run - --session "$S" <<<"redo" >"$tmp/redo.out" 2>&1 || fail "redo: $(cat "$tmp/redo.out")"
[ "$(max_step "$S")" = "$before" ] || fail "redo: metrics.tsv ends at $(max_step "$S"), expected $before"
steps_sorted "$S" || fail "metrics.tsv steps go backwards after redo"
verify "$S"
ok "redo brings the 250 steps and their metrics back; replay --verify is bit exact"
printf 'undo force=1\nset lr=0.5\nredo\n' >"$tmp/chain.tp"
rc=0; $T run "$tmp/chain.tp" --session "$S" >"$tmp/chain.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "nothing to redo" "$tmp/chain.out" || fail "redo after another change: exit $rc: $(cat "$tmp/chain.out")"
verify "$S"
ok "another change ends the redo chain"

# ---- 1 in the workbench: u asks y/n before a large undo (skipped without tmux) ----
if command -v tmux >/dev/null; then
    $T train --session "$S" --max-steps 250 >/dev/null 2>&1 || fail "train 250 (tui)"
    sock=$tmp/tmux.sock
    tm() { tmux -S "$sock" "$@"; }
    screen() { tm capture-pane -t fx -p; }
    wait_for() { for _ in $(seq 50); do screen | grep -q "$1" && return 0; sleep 0.1; done; fail "tui: no '$1' on the screen: $(screen | tail -5)"; }
    tm new-session -d -s fx -x 120 -y 34 "$T --session $S"
    wait_for "opened"
    tm send-keys -t fx u
    wait_for "do it? (y/N) -- undo: this goes back 250 training steps"
    tm send-keys -t fx n
    wait_for "not done"
    tm send-keys -t fx u
    wait_for "do it? (y/N)"
    tm send-keys -t fx y
    wait_for "undone: "
    tm send-keys -t fx q
    for _ in $(seq 50); do tm has-session -t fx 2>/dev/null || break; sleep 0.1; done
    tm kill-server 2>/dev/null || true
    [ "$(grep -c "	undo force=1	" "$S/journal.txt")" -ge 3 ] || fail "tui: the confirmed undo is not journaled as undo force=1"
    verify "$S"
    ok "the workbench asks y/n before a large undo; n does nothing, y undoes (journaled as undo force=1)"
else
    echo "skip: tmux not found (workbench confirmation)"
fi
