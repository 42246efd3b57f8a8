#!/usr/bin/env bash
# tests/e2e/target_pytorch: the bundled `cmd:` latency target targets/pytorch-lstm.target and its
# script targets/pytorch_lstm_step.py, run as the target file says (its command template with the
# placeholders filled in, {dir} = the file's directory, from another working directory).
#
#   the file has the fixed keys (description, command, timeout_s, repeat, requires) and nothing else;
#   `requires` failing means "unavailable here": the test says so and skips the runs;
#   a tiny step (H = 32, T = 2) prints comment lines and a positive number of microseconds last,
#   also with density 0.5 (row and unstructured masks); bad arguments exit 2 with a message.
# A few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
file=$root/targets/pytorch-lstm.target
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
[ -f "$file" ] || fail "$file is missing"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# ---- the file: key = value lines and comments ----
keys=$(grep -v '^[[:space:]]*\(#\|$\)' "$file" | sed 's/[[:space:]]*=.*//' | sort | tr '\n' ' ')
[ "$keys" = "command description repeat requires timeout_s " ] || fail "keys: '$keys'"
get() { grep "^$1[[:space:]]*=" "$file" | head -1 | sed 's/^[^=]*=[[:space:]]*//'; }
cmd=$(get command)
for p in hidden input batch seq density pattern threads dir; do
    case $cmd in *"{$p}"*) ;; *) fail "command has no {$p}";; esac
done
[[ $(get timeout_s) =~ ^[0-9]+$ ]] && [[ $(get repeat) =~ ^[0-9]+$ ]] || fail "timeout_s/repeat not whole numbers"
ok "target file: the five keys, every placeholder in the command"

# ---- available here? ----
if ! bash -c "$(get requires)" >/dev/null 2>&1; then
    echo "skip: the target is unavailable here ('$(get requires)' failed: Debian's python3-torch is not installed)"
    exit 0
fi

# Fill the template as the target interface does, and run it.
run() { # hidden input batch seq density pattern threads
    local c=$cmd
    c=${c//\{dir\}/$root/targets}; c=${c//\{hidden\}/$1}; c=${c//\{input\}/$2}; c=${c//\{batch\}/$3}
    c=${c//\{seq\}/$4}; c=${c//\{density\}/$5}; c=${c//\{pattern\}/$6}; c=${c//\{threads\}/$7}
    bash -c "$c --runs 20 --warmup 2"
}
positive_last_line() { tail -1 "$1" | grep -Eq '^[0-9]+(\.[0-9]+)?$' && awk 'END { exit !($1 > 0) }' "$1"; }

run 32 0 1 2 1 dense 1 > dense.out 2> dense.err || fail "dense run: $(cat dense.err)"
positive_last_line dense.out || fail "dense: last line is not a positive number: $(tail -1 dense.out)"
grep -q "^# torch .*nn.LSTM I=32 H=32 B=1 T=2 density=1 pattern=dense (dense kernels)" dense.out || fail "dense comment: $(head -1 dense.out)"
run 32 16 3 1 0.5 row 1 > row.out 2> row.err || fail "row run: $(cat row.err)"
positive_last_line row.out || fail "row: last line $(tail -1 row.out)"
grep -q "I=16 H=32 B=3 T=1 density=0.5 pattern=row" row.out || fail "row comment: $(head -1 row.out)"
run 32 0 1 1 0.5 unstructured 1 > un.out 2> un.err || fail "unstructured run: $(cat un.err)"
positive_last_line un.out || fail "unstructured: last line $(tail -1 un.out)"
ok "runs: a positive number of microseconds per step on the last line (dense, row, unstructured)"

# ---- bad arguments: exit 2, a message ----
rc=0; run 32 0 1 1 1.5 dense 1 > /dev/null 2> bad.err || rc=$?
[ "$rc" -eq 2 ] && grep -q "density" bad.err || fail "density 1.5: exit $rc, $(cat bad.err)"
rc=0; run 32 0 1 1 0.5 diagonal 1 > /dev/null 2> bad.err || rc=$?
[ "$rc" -eq 2 ] && grep -q "pattern diagonal" bad.err || fail "pattern diagonal: exit $rc, $(cat bad.err)"
rc=0; run 0 0 1 1 1 dense 1 > /dev/null 2> bad.err || rc=$?
[ "$rc" -eq 2 ] || fail "hidden 0: exit $rc"
ok "bad arguments refused (exit 2)"

# ---- through topiary itself: the bundled file found beside the binary, {dir} filled in ----
bin=${TOPIARY:-$root/build/topiary}
if [ -x "$bin" ]; then
    "$bin" profile --target cmd:pytorch-lstm --sizes 16,32 --reps 3 --json > prof.json 2> prof.err \
        || fail "topiary profile --target cmd:pytorch-lstm: $(cat prof.err)"
    n=$(grep -o '"median_us":[0-9.e+-]*' prof.json | awk -F: '$2 > 0' | wc -l)
    [ "$n" -eq 2 ] || fail "topiary profile --target cmd:pytorch-lstm: $(head -c 400 prof.json)"
    ok "topiary profile --target cmd:pytorch-lstm: the bundled target runs from another directory"
fi
