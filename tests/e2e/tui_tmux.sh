#!/usr/bin/env bash
# tests/e2e/tui_tmux: the real workbench in a tmux terminal of 80x24, driven by keys and read back
# with capture-pane: run a few steps, pause, open every screen, edit a form value, prune, undo,
# a command at the `:` prompt (with Tab completion), resize to 60x20 and back, quit; then reopen
# the session headless and check its state and journal.  A key pressed under training must change
# the screen within one minibatch (we allow a generous wall-clock bound: the machine is shared).
# Then the workbench again, at 80x24 under NO_COLOR: the key bar keeps ? Help and q Quit and the
# tabs every screen; the Grow & prune settings of the first run are back, and the mask has its name,
# shape and legend; `:help` opens a scrollable pane that q closes; Tab completes a value; a key typed
# during a profile acts when it ends (and the status line moves on); the Latency chart shows the
# sizes around the layers (f: all) with a glyph per series; the snapshot compare shows non-zeros
# and sparsity and never "nan".
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
set -euo pipefail

TAG=tui
. "$(dirname "$0")/lib/tmux.sh"

S="$tmp/session"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color
T new-session -d -s tui -x 80 -y 24 "$TOPIARY tui --session $S --hidden 32 --embed 16 --log-every 10 2>$tmp/stderr; echo \$? > $tmp/exit; sleep 30"
wait_for "Space Run" 10
wait_for "paused" 5
ok "opens at 80x24 with the key bar and the status bar"

# run a few steps, then pause
keys Space
wait_for "RUNNING" 5
sleep 2
keys Space
wait_for "paused" 5
step=$(screen | sed -n 's/.*| step \([0-9]*\) ep.*/\1/p' | head -1)
[ -n "$step" ] && [ "$step" -gt 0 ] || fail "no steps were trained (step '$step')"
ok "Space runs and pauses training ($step steps)"

# a key under training acts within one minibatch: switch screens while running
keys Space
wait_for "RUNNING" 5
t0=$(date +%s%N)
keys 4
wait_for "snapshots (Enter restores" 5
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
keys Space
wait_for "paused" 5
[ "$ms" -lt 3000 ] || fail "switching screens under training took ${ms} ms"
ok "a key under training changed the screen in ${ms} ms (includes tmux polling)"

# every screen opens
keys 1; wait_for "perplexity vs step" 5
keys 2; wait_for "settings (Enter edits)" 5
keys 3; wait_for "layers (Up/Down select" 5
keys 4; wait_for "snapshots (Enter restores" 5
keys 5; wait_for "KEYS" 5
keys 6; wait_for "lessons (Up/Down select" 5
keys Tab; wait_for "perplexity vs step" 5
ok "all six screens open (number keys and Tab)"

# edit a threshold on the Grow & prune screen: prune ratio 0.2 -> 0.5, the preview follows
keys 2
wait_for "settings (Enter edits)" 5
keys Down Down Down            # grow ratio -> grow init -> grow batches -> prune ratio
keys Enter BSpace BSpace BSpace 0.5 Enter
wait_for "prune ratio        0.5" 5
wait_for "would prune" 10
ok "the form edits a value and the preview shows the next prune"

# an invalid value is refused in words
keys Enter BSpace BSpace BSpace 7 Enter
wait_for "is not valid" 5
keys Escape
ok "an out-of-range value is refused with a message"

# prune, then undo
keys p
wait_for "pruned" 10
keys 1
wait_for "prune ratio=0.5" 5
keys u
wait_for "undo -> undone: prune" 10
ok "p prunes and u undoes it"

# a command at the prompt, with Tab completion of the verb
keys :
keys sna Tab                   # snapshot|snapshots: completes the common prefix and lists both
wait_for "[snapshot snapshots]" 5
keys ' name=e2e' Enter
wait_for "snapshot e2e at step" 10
ok "the : prompt completes verbs and runs commands"

# a bad command is reported, nothing crashes
keys : 'prnue ratio=2' Enter
wait_for "did you mean 'prune'" 5
ok "a mistyped command gets a clear error"

# resize below the minimum and back
T resize-window -t tui -x 60 -y 20
wait_for "terminal too small: need 80x24 (now 60x20)" 5
T resize-window -t tui -x 80 -y 24
wait_for "Space Run" 5
ok "below 80x24 it says so; back at 80x24 it redraws"

# quit (saves first)
keys q
for _ in $(seq 50); do [ -f "$tmp/exit" ] && break; sleep 0.1; done
[ -f "$tmp/exit" ] || fail "q did not quit"
[ "$(cat "$tmp/exit")" = 0 ] || fail "exit status $(cat "$tmp/exit"); stderr: $(cat "$tmp/stderr")"
ok "q saves and quits with status 0"

# reopen headless: the state and the journal are there
out=$("$TOPIARY" run - --session "$S" <<<"status")
echo "$out" | grep -q "step $step\|step [0-9]" || fail "status after reopening: $out"
grep -q $'\tprune ratio=0.5' "$S/journal.txt" || fail "the journal has no prune: $(cat "$S/journal.txt")"
grep -q $'\tundo\t' "$S/journal.txt" || fail "the journal has no undo"
grep -q $'\tsnapshot name=e2e\t' "$S/journal.txt" || fail "the journal has no snapshot"
[ -d "$S/snapshots/e2e" ] || fail "snapshot e2e missing"
"$TOPIARY" replay --session "$S" --verify | grep -q "verify: ok" || fail "replay of the TUI session does not verify"
ok "reopened: state, journal and snapshot are there, and the replay verifies bit for bit"

# ---- the workbench again, monochrome ----
rm -f "$tmp/exit"
# the first window sleeps 30 s after the workbench quits; on a loaded machine the checks above can
# outlast that, and the server goes with its last session
T kill-session -t tui 2>/dev/null || true
T new-session -d -s tui -x 80 -y 24 "NO_COLOR=1 $TOPIARY tui --session $S 2>$tmp/stderr; echo \$? > $tmp/exit; sleep 30"
wait_for "Space Run" 10
wait_for "? Help q Quit" 5
wait_for "1 Train  2  3  4  5  6" 5
T resize-window -t tui -x 100 -y 24
wait_for "1 Train  2 Prune  3 Lat  4 Sess  5 Help  6 Learn" 5
T resize-window -t tui -x 80 -y 24
wait_for "1 Train  2  3  4  5  6" 5
ok "at 80x24 the key bar keeps ? Help and q Quit, the tabs number every screen; at 100 columns they name them"

keys 2
wait_for "prune ratio        0.5" 5
wait_for "mask l0.w_ih 128x16" 5
wait_for "<=1/3" 5
ok "the Grow & prune settings survived the restart; the mask has its name, shape and legend"

keys : help Enter
wait_for "q closes]" 5
screen | grep -q "\[1-19 of [0-9]*: Up/Down" || fail "the :help pane does not say it scrolls"
keys G
wait_for "quit" 5
screen | grep -q "\[1-19 of" && fail "G did not scroll the pane"
keys q
wait_for "settings (Enter edits)" 5
keys : status Enter
wait_for ":status  [q closes]" 5
wait_for "schedule none" 5
keys Escape
wait_for "settings (Enter edits)" 5
ok ":help opens a pane that scrolls (G) and closes (q); :status, one line wider than 80, opens whole"

keys : 'prune pattern=r' Tab
wait_for ":prune pattern=row" 5
keys Escape
ok "Tab completes a key's value"

keys : 'profile sizes=16:256:16 budget_s=2' Enter
keys 4
wait_for "snapshots (Enter restores" 20
wait_for "latency profile:" 5
screen | grep -q "profile: 100%" && fail "the status line still shows the profile's progress"
ok "a key typed during a profile acts when it ends, and the status line moves on"

keys 3
wait_for "sizes 16-64 (f: all)" 5
wait_for "++ p10" 5
keys f
wait_for "all sizes (f: zoom)" 5
ok "the latency chart shows the sizes around the layers (f: all), a glyph per series under NO_COLOR"

keys 4
wait_for "snapshots (Enter restores" 5
keys m Up
wait_for "non-zeros" 5
wait_for "sparsity" 5
screen | grep -qi "nan" && fail "the compare panel shows nan"
ok "the snapshot compare shows non-zeros and sparsity, no nan"

keys q
for _ in $(seq 50); do [ -f "$tmp/exit" ] && break; sleep 0.1; done
[ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ] || fail "the second run did not quit cleanly"
grep -q "^prune.ratio=0.5$" "$S/tui.txt" || fail "tui.txt does not hold the form: $(cat "$S/tui.txt")"
echo "tui_tmux: all checks passed"
