#!/usr/bin/env bash
# bench/bench_train.sh: training throughput of `topiary train` on the PTB "small" configuration
# (2x200, embed 200, bptt 35, batch 20, vocab 10k, SGD, 2 threads) against PyTorch's
# ../shared/bench/train_lm.py on the same configuration and threads, interleaved A B A B ... so that
# machine drift hits both alike.  Prints every round, the medians and the ratio.
#
#   ROUNDS=3 STEPS=150 TORCH_SECONDS=20 bash bench/bench_train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-150}
TORCH_SECONDS=${TORCH_SECONDS:-20}
THREADS=${THREADS:-2}
SHARED=${TOPIARY_SHARED:-../shared}
BIN=build/topiary
PY=/usr/bin/python3
REF=$SHARED/bench/train_lm.py

[ -x "$BIN" ] || { echo "bench: $BIN missing (run make first)" >&2; exit 1; }
[ -f "$REF" ] || { echo "bench: reference $REF not found (set TOPIARY_SHARED)" >&2; exit 1; }
if ! $PY -c "import torch" 2>/dev/null; then
  echo "bench: installing python3-torch (Debian) for the reference"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi

# PTB when available (vocab 10,000 like the reference); otherwise a generated 10k-word corpus.
DATA=$SHARED/data/ptb
work=$(mktemp -d /tmp/topiary-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ ! -f "$DATA/ptb.train.txt" ]; then
  DATA=$work/data; mkdir -p "$DATA"
  $PY - "$DATA" <<'PYEOF'
import random, sys
random.seed(0); d = sys.argv[1]
words = ["w%d" % i for i in range(9998)]
for split, n in (("train", 20000), ("valid", 500), ("test", 500)):
    with open(f"{d}/ptb.{split}.txt", "w") as f:
        for _ in range(n):
            f.write(" " + " ".join(random.choice(words) for _ in range(20)) + " \n")
PYEOF
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u +%F)"
echo "config: 2x200 LSTM, embed 200, bptt 35, batch 20, vocab 10k, SGD, $THREADS threads; topiary $STEPS steps/round, torch ${TORCH_SECONDS}s/round"
ours=(); theirs=()
for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$work/s"
  line=$("$BIN" train --session "$work/s" --data "$DATA" --level word --layers 2 --hidden 200 --embed 200 \
         --bptt 35 --batch 20 --lr 1 --clip 5 --threads "$THREADS" --max-steps "$STEPS" --log-every 1000000 --json | tail -1)
  a=$(echo "$line" | $PY -c 'import json,sys; print("%.1f" % json.loads(sys.stdin.read())["tokens_per_s"])')
  out=$(OMP_WAIT_POLICY=PASSIVE $PY "$REF" --config small --mode train --threads "$THREADS" --blas-threads "$THREADS" \
        --seconds "$TORCH_SECONDS" 2>&1)
  # the reference prints "RESULT ... tokens/s=5682 ..." (overall rate of the run)
  b=$(echo "$out" | sed -n 's/^RESULT.* tokens\/s=\([0-9.]*\).*/\1/p' | head -1 || true)
  [ -n "$b" ] || { echo "bench: could not read the reference's tokens/s:"; echo "$out"; exit 1; }
  echo "round $r: topiary $a tokens/s   pytorch $b tokens/s"
  ours+=("$a"); theirs+=("$b")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ma=$(median "${ours[@]}"); mb=$(median "${theirs[@]}")
# training FLOPs per token: 3x the forward (2 * params touched per token): LSTM 2*(4H*(I+H)) per layer + decoder 2*H*V
$PY - "$ma" "$mb" <<'PYEOF'
import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
H, E, V = 200, 200, 10000
fwd = 2 * (4 * H * (E + H)) + 2 * (4 * H * (H + H)) + 2 * H * V
gf = 3 * fwd * a / 1e9
print(f"median: topiary {a:.0f} tokens/s, pytorch {b:.0f} tokens/s, ratio {a / b:.2f}x")
print(f"topiary sustains ~{gf:.0f} GFLOP/s ({100 * gf / 190:.0f}% of the ~190 GFLOP/s 2-core sgemm peak quoted in ../shared/bench/README.md)")
PYEOF
