#!/usr/bin/env bash
# tests/e2e/tui_validation: keys typed during the validation that ends an epoch are kept and act when
# it ends (issue 14).  The real workbench in tmux (80x24) trains a word corpus whose validation split
# is much larger than its training split, so that an epoch ends within seconds and its validation
# lasts a few: Space and 4 typed during the validation pause training and open screen 4 once it
# ends, and the status line then shows the validation's result, not a stale "validation: 100%"; in
# the next epoch's validation q quits once it ends, after the training slice, with everything saved
# (the next writer recovers nothing).
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
set -euo pipefail

TAG=tuival
. "$(dirname "$0")/lib/tmux.sh"
# wait_gone REGEX SECONDS: poll until the screen no longer matches
wait_gone() {
    local re=$1 limit=$2 i
    for ((i = 0; i < limit * 10; i++)); do
        if ! screen | grep -q -- "$re"; then return 0; fi
        sleep 0.1
    done
    fail "the screen still matched '$re' after ${limit}s"
}

# 300 training lines, 20000 validation lines of 10 words from 50
mkdir -p "$tmp/data"
words() { awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { l = ""; for (j = 0; j < 10; j++) l = l (j ? " " : "") "w" int(rand() * 50); print l } }'; }
words 300 1 >"$tmp/data/ptb.train.txt"
words 20000 2 >"$tmp/data/ptb.valid.txt"
words 50 3 >"$tmp/data/ptb.test.txt"

S="$tmp/session"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color
T new-session -d -s tui -x 80 -y 24 "$TOPIARY tui --session $S --data $tmp/data --hidden 64 --embed 16 --batch 4 --bptt 10 --epochs 5 2>$tmp/stderr; echo \$? > $tmp/exit; sleep 30"
wait_for "Space Run" 10

keys Space
wait_for "validation:" 60
keys Space
keys 4
wait_for "2 keys kept for after it" 10
ok "Space and 4 typed during the validation are kept (the status line says so)"
wait_gone "validation: *[0-9]*%" 120
wait_for "snapshots (Enter restores" 5
wait_for "paused" 5
screen | grep -q "RUNNING" && fail "training still runs after the Space typed during the validation"
valid=$(screen | sed -n 's/.*| valid \([0-9.]*\).*/\1/p' | head -1)
[ -n "$valid" ] || fail "the status bar shows no validation perplexity"
ok "after the validation Space paused training and 4 opened screen 4; valid ppl $valid on the status bar"

keys Space
wait_for "RUNNING" 5
wait_for "validation:" 60
keys q
wait_for "1 key kept for after it" 10
for _ in $(seq 1200); do [ -f "$tmp/exit" ] && break; sleep 0.1; done
[ -f "$tmp/exit" ] || fail "q typed during the validation did not quit after it"
[ "$(cat "$tmp/exit")" = 0 ] || fail "exit status $(cat "$tmp/exit"); stderr: $(cat "$tmp/stderr")"
out=$("$TOPIARY" run - --session "$S" <<<"status" 2>&1)
echo "$out" | grep -q "epoch 3/5" || fail "the second epoch was not saved before quitting: $out"
echo "$out" | grep -q "recovered" && fail "the quit left unsaved work behind: $out"
ok "q typed during the validation quits once it ends, with everything saved"
echo "tui_validation: all checks passed"
