#!/usr/bin/env bash
# tests/cuda/sessions.sh: part 3 of `make test-cuda`: sessions across backends, on the real binary.
#
#   a session trained on the device for 6 steps, saved, reopened and trained on the CPU for 6 more;
#   a session trained on the CPU for 6 steps, then on the device for 6 more; a CPU-only run of 12.
#   All three reach step 12 and their last losses (train_ppl of the final --json line over the
#   second half) agree to 1 % (dropout 0: the runs differ only in float rounding); eval opens each.
#
# Where `train --backend cuda` exits 2 (no usable device) it prints "skipped: no CUDA device" and exits 0.
set -euo pipefail
TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-cuda-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
small=(--hidden 48 --embed 24 --dropout 0 --bptt 20 --batch 8)
last() { python3 -c 'import json,sys; print(json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])[sys.argv[2]])' "$1" "$2"; }

set +e
"$TOPIARY" train --session g --backend cuda --max-steps 6 "${small[@]}" --json >g1.out 2>g1.err
rc=$?
set -e
if [ $rc = 2 ]; then echo "test-cuda sessions: skipped: no CUDA device ($(tail -n 1 g1.err))"; exit 0; fi
[ $rc = 0 ] || fail "train --backend cuda: rc $rc: $(cat g1.err)"
"$TOPIARY" train --session g --backend cpu --max-steps 6 --json >g2.out 2>g2.err || fail "resume on cpu: $(cat g2.err)"
"$TOPIARY" train --session c --backend cpu --max-steps 6 "${small[@]}" --json >c1.out 2>c1.err || fail "cpu: $(cat c1.err)"
"$TOPIARY" train --session c --backend cuda --max-steps 6 --json >c2.out 2>c2.err || fail "resume on cuda: $(cat c2.err)"
"$TOPIARY" train --session r --max-steps 6 "${small[@]}" --json >r1.out 2>r1.err || fail "reference: $(cat r1.err)"
"$TOPIARY" train --session r --max-steps 6 --json >r2.out 2>r2.err || fail "reference resume: $(cat r2.err)"
for s in g c r; do
    [ "$(last $s'2.out' step)" = 12 ] || fail "session $s: final step $(last $s'2.out' step), expected 12"
    "$TOPIARY" eval --session $s --json >$s.eval 2>&1 || fail "eval --session $s: $(cat $s.eval)"
done
python3 - "$(last r2.out train_ppl)" "$(last g2.out train_ppl)" "$(last c2.out train_ppl)" <<'PY' || fail "losses differ"
import sys
r, g, c = map(float, sys.argv[1:])
print(f"train ppl of steps 7-12: cpu {r:.4f}, cuda then cpu {g:.4f}, cpu then cuda {c:.4f}")
sys.exit(0 if abs(g - r) <= 0.01 * r and abs(c - r) <= 0.01 * r else 1)
PY
echo "test-cuda sessions: ok (saved on one backend, reopened and trained on the other)"
