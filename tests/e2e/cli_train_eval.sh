#!/usr/bin/env bash
# tests/e2e/cli_train_eval: the headless command line (DESIGN 2.1) end to end, on the real binary.
#
#   train --json on the bundled corpus: JSON lines with the promised keys, the session files;
#   resume continues the step count; per-epoch lines on a small corpus; eval --json;
#   bad usage exits 2 with a one-line reason; no arguments lists the subcommands;
#   SIGTERM during training leaves a session that eval opens.
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
# Prints "ok: <name>" per check and stops at the first failure.  Takes well under a minute.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to parse the JSON output" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
bg_pid=
cleanup() {
    if [ -n "$bg_pid" ]; then kill -KILL "$bg_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" # the bundled corpus must be found next to the binary, not in the working directory

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
small=(--hidden 32 --embed 16)

# Every stdout line is a JSON object with `keys` (numbers, except those named in `strings`).
# usage: check_json FILE 'key1 key2 ...' [string-keys]
check_json() {
    python3 - "$@" <<'EOF'
import json, sys
path, keys = sys.argv[1], sys.argv[2].split()
strings = set(sys.argv[3].split()) if len(sys.argv) > 3 else set()
lines = [l for l in open(path).read().split("\n") if l.strip()]
if not lines:
    sys.exit(f"{path}: no output")
for n, line in enumerate(lines, 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        sys.exit(f"{path}:{n}: not JSON ({e}): {line!r}")
    if not isinstance(o, dict):
        sys.exit(f"{path}:{n}: not a JSON object: {line!r}")
    for k in keys:
        if k not in o:
            sys.exit(f"{path}:{n}: key {k!r} missing: {line!r}")
        want = str if k in strings else (int, float)
        if not isinstance(o[k], want) or isinstance(o[k], bool):
            sys.exit(f"{path}:{n}: {k!r} has the wrong type: {line!r}")
EOF
}
# Value of KEY in the last JSON line of FILE.
json_last() { python3 -c 'import json,sys; print(json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])[sys.argv[2]])' "$1" "$2"; }

# Expect exit status 2, and a first stderr line "topiary: ..." containing NEEDLE.
# usage: expect_usage NAME NEEDLE -- command...
expect_usage() {
    local name=$1 needle=$2; shift 3
    local rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2 (stderr: $(head -c 300 "$tmp/err"))"
    local first; first=$(head -n 1 "$tmp/err")
    [[ $first == topiary:* ]] || fail "$name: first stderr line does not start with 'topiary:': '$first'"
    [[ $first == *"$needle"* ]] || fail "$name: stderr reason does not mention '$needle': '$first'"
    [ "$(wc -l <"$tmp/err")" -le 2 ] || fail "$name: reason is not one line: $(cat "$tmp/err")"
    ok "$name"
}

# ---- train --json on the bundled corpus ----
S=$tmp/s1
"$TOPIARY" train --session "$S" --max-steps 30 "${small[@]}" --json >"$tmp/train.out" 2>"$tmp/train.err" \
    || fail "train: exit status $? ($(cat "$tmp/train.err"))"
check_json "$tmp/train.out" "step epoch lr train_ppl valid_ppl tokens_per_s seconds" || fail "train --json output"
[ "$(json_last "$tmp/train.out" step)" = 30 ] || fail "train: final step is not 30: $(cat "$tmp/train.out")"
ok "train --json prints step/epoch/lr/train_ppl/valid_ppl/tokens_per_s/seconds"
for f in manifest.json model.safetensors metrics.tsv vocab.json; do
    [ -s "$S/$f" ] || fail "train: $S/$f missing or empty"
done
python3 - "$S" <<'EOF' || fail "train: session files"
import json, sys
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json"))
assert m["format"] == "topiary-session" and m["version"] == 1, m
assert m["state"]["step"] == 30, m["state"]
assert m["task"]["level"] == "char" and m["task"]["data"].endswith("tinyshakespeare.txt"), m["task"]
assert m["task"]["hidden"] == [32, 32] and m["task"]["embed"] == 16, m["task"]
for f in ("model.safetensors", "vocab.json"):
    assert f in m["files"], f
vocab = json.load(open(f"{d}/vocab.json"))
assert len(vocab) == m["task"]["vocab"] == 65, len(vocab)
header = open(f"{d}/metrics.tsv").readline().rstrip("\n").split("\t")
assert header[:3] == ["step", "epoch", "lr"], header
EOF
ok "train creates manifest.json, model.safetensors, metrics.tsv, vocab.json"

# ---- resume ----
"$TOPIARY" train --session "$S" --max-steps 10 --json >"$tmp/resume.out" 2>"$tmp/resume.err" \
    || fail "resume: exit status $? ($(cat "$tmp/resume.err"))"
check_json "$tmp/resume.out" "step epoch lr train_ppl valid_ppl tokens_per_s seconds" || fail "resume --json output"
[ "$(json_last "$tmp/resume.out" step)" = 40 ] || fail "resume: step did not continue to 40: $(cat "$tmp/resume.out")"
ok "resume with --max-steps 10 continues from step 30 to 40"
expect_usage "resume refuses a changed architecture" "--hidden" -- \
    "$TOPIARY" train --session "$S" --max-steps 1 --hidden 64

# ---- eval --json ----
"$TOPIARY" eval --session "$S" --split valid --json >"$tmp/eval.out" 2>"$tmp/eval.err" \
    || fail "eval: exit status $? ($(cat "$tmp/eval.err"))"
check_json "$tmp/eval.out" "split tokens loss ppl" "split" || fail "eval --json output"
python3 - "$tmp/eval.out" <<'EOF' || fail "eval: values $(cat "$tmp/eval.out")"
import json, math, sys
o = json.loads(open(sys.argv[1]).read())
assert o["split"] == "valid" and isinstance(o["tokens"], int) and o["tokens"] > 1000, o
assert 1.0 < o["ppl"] < 65.0 * 2 and abs(math.exp(o["loss"]) - o["ppl"]) < 1e-3 * o["ppl"], o
EOF
ok "eval --split valid --json prints split/tokens/loss/ppl"
# issue 14, item 7: without --split, eval measures the validation split (the test split only when asked)
"$TOPIARY" eval --session "$S" --json >"$tmp/eval.default" 2>"$tmp/eval.err" || fail "eval (default split): $(cat "$tmp/eval.err")"
cmp -s <(sed 's/"seconds":[0-9.]*//' "$tmp/eval.out") <(sed 's/"seconds":[0-9.]*//' "$tmp/eval.default") \
    || fail "eval without --split differs from --split valid: $(cat "$tmp/eval.default")"
"$TOPIARY" eval --session "$S" | grep -q "^valid split: ppl " || fail "eval: the output does not name the valid split"
"$TOPIARY" eval --session "$S" --split test | grep -q "^test split: ppl " || fail "eval --split test: the output does not name it"
ok "eval defaults to the valid split and names the split it measured"

# ---- per-epoch lines on a small corpus (one text file: char level, 90/5/5 split) ----
head -n 1500 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["task"]["data"])' "$S/manifest.json")" \
    >"$tmp/small.txt"
"$TOPIARY" train --session "$tmp/s2" --data "$tmp/small.txt" --epochs 2 --hidden 16 --embed 8 --bptt 20 \
    --json >"$tmp/epochs.out" 2>"$tmp/epochs.err" || fail "train --epochs 2: exit status $? ($(cat "$tmp/epochs.err"))"
check_json "$tmp/epochs.out" "step epoch lr train_ppl valid_ppl tokens_per_s seconds" || fail "per-epoch --json output"
python3 - "$tmp/epochs.out" <<'EOF' || fail "per-epoch lines: $(cat "$tmp/epochs.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 3, f"{len(lines)} lines, expected 2 epochs + final"
assert [l["epoch"] for l in lines[:2]] == [1, 2] and lines[2].get("final") is True
assert all(l["valid_ppl"] > 1 for l in lines), "valid_ppl not measured at epoch ends"
assert lines[1]["step"] == 2 * lines[0]["step"] == lines[2]["step"]
EOF
[ "$(tail -n +2 "$tmp/s2/metrics.tsv" | wc -l)" -ge 2 ] || fail "per-epoch: metrics.tsv has no epoch rows"
ok "train --epochs 2 prints one JSON line per epoch and a final one"

# ---- bad usage: exit 2, one-line reason naming the option or file ----
expect_usage "unknown option" "--frobnicate" -- "$TOPIARY" train --session "$tmp/u1" --frobnicate 3
expect_usage "--hidden 0" "--hidden" -- "$TOPIARY" train --session "$tmp/u2" --hidden 0
expect_usage "--data /nonexistent" "/nonexistent" -- "$TOPIARY" train --session "$tmp/u3" --data /nonexistent
for d in u1 u2 u3; do
    [ ! -e "$tmp/$d/manifest.json" ] || fail "a refused train left a session in $tmp/$d"
done
expect_usage "train without --session" "--session" -- "$TOPIARY" train --max-steps 1
expect_usage "eval of a missing session" "$tmp/missing" -- "$TOPIARY" eval --session "$tmp/missing" --split valid
expect_usage "eval --split bogus" "--split" -- "$TOPIARY" eval --session "$S" --split bogus
expect_usage "unknown command" "frob" -- "$TOPIARY" frob
# issue 14, item 6: did you mean, for subcommands, options and the keys of a verb
expect_usage "mistyped subcommand" "unknown command 'trian' (did you mean 'train'?)" -- "$TOPIARY" trian
expect_usage "mistyped option" "unknown option '--sesion' (did you mean '--session'?)" -- "$TOPIARY" train --sesion "$tmp/u4"
echo "prune ratoi=0.5" >"$tmp/typo.tp"
rc=0; "$TOPIARY" run "$tmp/typo.tp" --session "$S" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "typo.tp:1: column 7: prune: unknown key 'ratoi' (did you mean 'ratio'?" "$tmp/err" \
    || fail "mistyped key: exit $rc, $(cat "$tmp/err")"
ok "mistyped key"

cp -r "$S" "$tmp/bad"
python3 - "$tmp/bad/model.safetensors" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
EOF
sum_before=$(cksum "$tmp/bad/"* | sort)
expect_usage "eval of a corrupted model.safetensors" "model.safetensors" -- \
    "$TOPIARY" eval --session "$tmp/bad" --split valid
expect_usage "train on a corrupted model.safetensors" "model.safetensors" -- \
    "$TOPIARY" train --session "$tmp/bad" --max-steps 1
[ "$sum_before" = "$(cksum "$tmp/bad/"* | sort)" ] || fail "a refused session was modified"
ok "refused sessions are left untouched"

# ---- no arguments: exit 2 and the list of subcommands ----
rc=0
"$TOPIARY" >"$tmp/none.out" 2>"$tmp/none.err" || rc=$?
[ "$rc" -eq 2 ] || fail "no arguments: exit status $rc, expected 2"
for c in train eval run profile export replay plot help; do
    grep -qE "^  $c " "$tmp/none.out" "$tmp/none.err" || fail "no arguments: subcommand '$c' not listed"
done
ok "topiary with no arguments exits 2 and lists the subcommands"

# ---- SIGTERM during a script's long train line: it stops at the next step, not at the line's end ----
R=$tmp/run-killed
printf 'train epochs=1000\nstatus\n' >"$tmp/long.tp"
"$TOPIARY" run "$tmp/long.tp" --session "$R" "${small[@]}" >"$tmp/rkill.out" 2>"$tmp/rkill.err" &
bg_pid=$!
for _ in $(seq 1 100); do
    grep -q "long.tp:1>" "$tmp/rkill.out" 2>/dev/null && break
    kill -0 "$bg_pid" 2>/dev/null || fail "run SIGTERM: run exited early: $(cat "$tmp/rkill.err")"
    sleep 0.2
done
sleep 2
kill -0 "$bg_pid" 2>/dev/null || fail "run SIGTERM: run ended before the signal: $(cat "$tmp/rkill.err")"
kill -TERM "$bg_pid"
for _ in $(seq 1 50); do kill -0 "$bg_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$bg_pid" 2>/dev/null && { kill -KILL "$bg_pid"; fail "run SIGTERM: still running 10 s after the signal (the train line ignored it)"; }
rc=0
wait "$bg_pid" || rc=$?
bg_pid=
[ "$rc" -eq 1 ] || fail "run SIGTERM: exit status $rc, expected 1 (stderr: $(tail -n 3 "$tmp/rkill.err"))"
grep -q "interrupted by signal 15; session saved" "$tmp/rkill.err" || fail "run SIGTERM: stderr: $(tail -n 3 "$tmp/rkill.err")"
grep -q "long.tp:2>" "$tmp/rkill.out" && fail "run SIGTERM: the script went on to its next line"
step=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["step"])' "$R/manifest.json")
[ "$step" -gt 0 ] || fail "run SIGTERM: the saved session is at step $step"
"$TOPIARY" eval --session "$R" --split valid --json >/dev/null 2>"$tmp/reval.err" \
    || fail "run SIGTERM: eval of the interrupted session failed: $(cat "$tmp/reval.err")"
ok "SIGTERM during a script's long train line stops it at the next step, saved (step $step)"

# ---- SIGTERM during a long run: saved, exit 1, and eval opens it ----
K=$tmp/killed
"$TOPIARY" train --session "$K" --max-steps 100000 --epochs 1000 "${small[@]}" >"$tmp/kill.out" 2>"$tmp/kill.err" &
bg_pid=$!
for _ in $(seq 1 100); do # until the session exists (then the handlers are installed), at most 20 s
    [ -e "$K/manifest.json" ] && break
    kill -0 "$bg_pid" 2>/dev/null || fail "SIGTERM: train exited early: $(cat "$tmp/kill.err")"
    sleep 0.2
done
[ -e "$K/manifest.json" ] || fail "SIGTERM: no session after 20 s"
sleep 2
kill -0 "$bg_pid" 2>/dev/null || fail "SIGTERM: train ended before the signal: $(cat "$tmp/kill.err")"
kill -TERM "$bg_pid"
rc=0
wait "$bg_pid" || rc=$?
bg_pid=
[ "$rc" -eq 1 ] || fail "SIGTERM: exit status $rc, expected 1 (stderr: $(tail -n 3 "$tmp/kill.err"))"
grep -q "saved" "$tmp/kill.err" || fail "SIGTERM: stderr does not say the session was saved: $(tail -n 3 "$tmp/kill.err")"
step=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["step"])' "$K/manifest.json")
[ "$step" -gt 0 ] || fail "SIGTERM: the saved session is at step $step"
"$TOPIARY" eval --session "$K" --split valid --json >"$tmp/keval.out" 2>"$tmp/keval.err" \
    || fail "SIGTERM: eval of the interrupted session failed: $(cat "$tmp/keval.err")"
check_json "$tmp/keval.out" "split tokens loss ppl" "split" || fail "SIGTERM: eval output"
ok "SIGTERM during training saves (step $step), exits 1, and eval opens the session"

echo "cli_train_eval: all checks passed"
