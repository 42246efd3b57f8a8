#!/usr/bin/env bash
# tests/e2e/lessons_run: every bundled lesson, run headless on a new session of its own task
# (`topiary learn ID --session NEW --check` fails first: nothing done yet), then all its steps
# (`--run`): every step must run, and the exercise's check must pass at the end, so that no lesson
# proposes a command that fails or an exercise its own steps cannot reach.  A second `--check` then
# passes without running anything, and the journal replays bit for bit.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-lessons-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ids=$("$TOPIARY" learn | sed -n 's/^  \([0-9][0-9]-[a-z0-9-]*\) .*/\1/p')
n=$(echo "$ids" | wc -w)
[ "$n" -ge 8 ] || fail "only $n lessons listed"
for id in $ids; do
    S="$tmp/$id"
    rc=0; "$TOPIARY" learn "$id" --session "$S" --check >"$tmp/out" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "$id: --check before any step: exit $rc, expected 1 ($(cat "$tmp/out"))"
    grep -q "check: not yet" "$tmp/out" || fail "$id: --check before: $(cat "$tmp/out")"
    rc=0; "$TOPIARY" learn "$id" --session "$S" --run >"$tmp/out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || { tail -20 "$tmp/out" >&2; fail "$id: --run: exit $rc"; }
    grep -q "check: PASSED" "$tmp/out" || fail "$id: --run did not pass its check"
    "$TOPIARY" learn "$id" --session "$S" --check >/dev/null || fail "$id: --check after --run"
    grep -q "passed=1" "$S/lessons.txt" || fail "$id: the pass is not in lessons.txt"
    "$TOPIARY" replay --session "$S" --verify >/dev/null || fail "$id: replay --verify"
    echo "ok: $id: every step ran; the check failed before and passes after"
done
echo "lessons_run: all $n lessons ok"
