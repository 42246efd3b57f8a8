#!/usr/bin/env bash
# tests/e2e/tui_lesson: one whole lesson in the real workbench, at 80x24 and at 120x40, driven by keys
# and read back with capture-pane (as tests/e2e/tui_tmux.sh): `topiary learn 01-perplexity --session
# NEW` creates the session with the lesson's task options and opens the Lessons screen on the lesson;
# its check fails at first (c records nothing); the glossary opens on the lesson's first term; every
# step runs by Enter (the last one typed at the `:` prompt instead); the live verdict turns to PASSED
# and c records it.  Then headless: `learn --check` exits 0, the progress is in SESSION/lessons.txt,
# the journal holds the steps but no lesson command, and `explain` answers and suggests.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
set -euo pipefail

TAG=lesson
. "$(dirname "$0")/lib/tmux.sh"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color

walk() { # walk COLS ROWS
    local cols=$1 rows=$2 S="$tmp/s$1"
    T new-session -d -s tui -x "$cols" -y "$rows" \
        "$TOPIARY learn 01-perplexity --session $S 2>$tmp/stderr; echo \$? > $tmp/exit; sleep 60"
    wait_for "lesson 01-perplexity (Up/Down step" 15
    wait_for "Perplexity and training curves" 5
    wait_for ">  1. eval" 5
    ok "${cols}x${rows}: learn opens the Lessons screen on the lesson, step 1 selected"

    # the exercise is not done yet: the live verdict says so, and c records no pass
    wait_for "check: not yet (0 of 2 hold" 5
    keys c
    wait_for "01-perplexity check: not yet" 5
    grep -q "passed=0" "$S/lessons.txt" || fail "lessons.txt does not record the started lesson"
    ok "${cols}x${rows}: the check fails before the steps"

    # the glossary, on the lesson's first term, and back
    keys x
    wait_for "terms (x back)" 5
    wait_for "exp(mean loss)" 5
    keys Down
    wait_for "ratio (also: ratio vs sparsity" 5
    keys x
    wait_for "lesson 01-perplexity (Up/Down step" 5
    ok "${cols}x${rows}: x opens the glossary at the lesson's first term"

    # the steps: Enter runs the selected one, then the next is selected
    keys Enter
    wait_for "valid ppl" 30
    wait_for ">  2. lesson mark" 5
    keys Enter
    wait_for "reference values recorded" 10
    keys Enter
    wait_for "trained 150 step(s)" 60
    wait_for "step 150 ep" 5
    # the last step typed at the prompt, as the lesson says one can
    keys : "eval" Enter
    # an output wider than the status line (at 80 columns) opens in the pager; q closes it
    local i
    for ((i = 0; i < 600; i++)); do
        if screen | grep -qF -- ":eval  [q closes]"; then keys q; break; fi
        if screen | grep -qF -- "check: PASSED -- press c to record it"; then break; fi
        sleep 0.1
    done
    wait_for "check: PASSED -- press c to record it" 10
    keys c
    wait_for "check: PASSED and recorded" 5
    grep -q "passed=1" "$S/lessons.txt" || fail "lessons.txt does not record the pass"
    ok "${cols}x${rows}: every step ran; the check passes and c records it"

    keys b
    wait_for "lessons (Up/Down select" 5
    screen | grep -F "01-perplexity" | grep -qF "passed" || fail "the list does not show the pass"
    ok "${cols}x${rows}: the list shows the lesson passed"
    keys q
    for ((i = 0; i < 100; i++)); do [ -s "$tmp/exit" ] && break; sleep 0.1; done
    [ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ] || fail "the workbench did not quit with 0"
    T kill-server 2>/dev/null || true
    rm -f "$tmp/exit"

    # headless: the check passes, progress lives in the session, lesson commands are not journaled
    "$TOPIARY" learn 1 --session "$S" --check >"$tmp/check" || fail "learn --check: exit $? ($(cat "$tmp/check"))"
    grep -q "PASSED" "$tmp/check" || fail "learn --check did not say PASSED"
    grep -q "train steps=150" "$S/journal.txt" || fail "the journal lacks the step's train"
    if grep -q "lesson" "$S/journal.txt"; then fail "a lesson command was journaled"; fi
    "$TOPIARY" replay --session "$S" --verify >/dev/null || fail "replay --verify after the lesson"
    ok "${cols}x${rows}: learn --check passes headless; journal and replay unaffected"
}

walk 80 24
walk 120 40

# explain: a definition, and the nearest term for a typo
"$TOPIARY" explain hysteresis point | grep -q "plateau" || fail "explain hysteresis point"
if "$TOPIARY" explain hysterisis 2>"$tmp/err"; then fail "explain of an unknown term succeeded"; fi
grep -q "did you mean 'hysteresis-point'" "$tmp/err" || fail "explain did not suggest: $(cat "$tmp/err")"
ok "explain: a definition, and a suggestion for a typo"
echo "tui_lesson: all ok"
