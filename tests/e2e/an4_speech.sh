#!/usr/bin/env bash
# tests/e2e/an4_speech: the speech task (--task an4) end to end on the real binary, on the first 8
# utterances of each AN4 split (../shared/data/an4; skipped with a message when it is not there):
#
#   train --task an4 --json: per-epoch JSON lines with valid_wer/valid_cer; metrics.tsv's speech columns;
#   eval --split test --json: the keys wer, cer, loss, utterances, seconds; --beam 3;
#   eval --runtime (and the verb eval runtime=1): the same WER, CER and loss through engine/infer_asr;
#   a script of verbs (prune, grow, snapshot, train, undo) then replay --verify bit for bit;
#   profile --session (per second of audio), recommend; dse refuses the session with the reason; eval --model refuses its export;
#   export: PyTorch reproduces the CTC losses of check.safetensors (tests/e2e/an4_torch_check.py, with
#   /usr/bin/python3's torch; skipped without it).
#
# $TOPIARY is the binary (default ./build/topiary).  Prints "ok: <name>" per check; stops at the first
# failure.  Takes about ten seconds.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${TOPIARY_SHARED:-$HERE/../../../shared}/data/an4
[ -f "$DATA/etc/an4_test.fileids" ] || { echo "skip: AN4 not found at $DATA"; exit 0; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to parse the JSON output" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
S=$tmp/s
task=(--task an4 --data "$DATA" --max-utts 8 --batch 4 --hidden 16 --epochs 2 --threads 1)

"$TOPIARY" train "${task[@]}" --session "$S" --json > "$tmp/train.json" 2> "$tmp/train.err" || { cat "$tmp/train.err"; fail "train --task an4"; }
python3 - "$tmp/train.json" <<'PY' || fail "train --json lines"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 3 and rows[2]["final"], rows
assert 0 <= rows[2]["valid_wer"] and rows[2]["train_loss"] > 0, rows[2]
for r in rows[:2]:
    for k in ("step", "epoch", "train_loss", "valid_loss", "valid_wer", "valid_cer", "seconds"):
        assert isinstance(r[k], (int, float)), (k, r)
    assert 0 <= r["valid_cer"] and 0 <= r["valid_wer"]
PY
ok "train --task an4 --json: CTC loss and valid WER/CER per epoch"
head -1 "$S/metrics.tsv" | grep -q $'\tvalid_loss\tvalid_wer\tvalid_cer$' || fail "metrics.tsv header: $(head -1 "$S/metrics.tsv")"
ok "metrics.tsv: the speech columns after the LM's"

"$TOPIARY" eval --session "$S" --split test --json > "$tmp/eval.json" || fail "eval --json"
python3 - "$tmp/eval.json" <<'PY' || fail "eval --json keys: $(cat "$tmp/eval.json")"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("wer", "cer", "loss", "utterances", "seconds"):
    assert isinstance(j[k], (int, float)), k
assert j["utterances"] == 8 and j["split"] == "test"
PY
"$TOPIARY" eval --session "$S" --split valid --beam 3 | grep -q 'WER .*beam decoding' || fail "eval --beam 3"
ok "eval: WER, CER, loss, utterances, seconds (--json), beam search"

export XDG_CACHE_HOME=$tmp/cache # the sparse break-even is measured here once (a few seconds)
"$TOPIARY" eval --session "$S" --split test --json --runtime --threads 1 > "$tmp/rt.json" 2> "$tmp/rt.err" || { cat "$tmp/rt.err"; fail "eval --runtime"; }
python3 - "$tmp/eval.json" "$tmp/rt.json" <<'PY' || fail "eval --runtime: $(cat "$tmp/rt.json")"
import json, sys
d, r = (json.load(open(p)) for p in sys.argv[1:3])
assert r["runtime"] == "infer_asr" and "hidden 16/16" in r["kernels"], r
assert r["wer"] == d["wer"] and r["cer"] == d["cer"] and r["utterances"] == d["utterances"], (d, r)
assert abs(r["loss"] - d["loss"]) <= 1e-4 * abs(d["loss"]), (d, r)
assert r["ms_per_audio_s"] > 0 and d["ms_per_audio_s"] > 0
PY
"$TOPIARY" eval --session "$S" --split test --runtime | grep -q '^runtime: .* ms per second of audio' || fail "eval --runtime text"
printf 'eval split=test runtime=1\n' > "$tmp/rt.tp"
"$TOPIARY" run "$tmp/rt.tp" --session "$S" > "$tmp/rt.out" 2>&1 || { cat "$tmp/rt.out"; fail "eval runtime=1"; }
grep -q 'ms per audio second, runtime' "$tmp/rt.out" && grep -q '^kernels: ' "$tmp/rt.out" || fail "eval runtime=1: $(cat "$tmp/rt.out")"
ok "eval --runtime (and the verb's runtime=1): the same WER, CER and loss through the inference runtime, ms per audio second, kernels"
BENCH=$(dirname "$TOPIARY")/bench/bench_infer_asr
if [ -x "$BENCH" ]; then # the smoke run of the latency bench (make e2e builds it)
    "$BENCH" "$S" --utts 3 --reps 1 --threads 1 --json > "$tmp/bench.out" 2>&1 || { cat "$tmp/bench.out"; fail "bench_infer_asr"; }
    python3 - <(tail -1 "$tmp/bench.out") <<'PY' || fail "bench_infer_asr --json: $(tail -1 "$tmp/bench.out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["utterances"] == 3 and j["threads"] == 1 and j["max_rel_diff"] <= 1e-4, j
assert j["dense_ms_per_audio_s"] > 0 and j["runtime_ms_per_audio_s"] > 0 and j["speedup"] > 0, j
PY
    ok "bench_infer_asr: dense vs runtime ms per audio second on 3 utterances, logits agree"
    # two threads: the directions at once (forced CSR: no BLAS matrix), in turn, and the timed choice
    for d in once turn auto; do
        "$BENCH" "$S" --utts 3 --reps 1 --threads 2 --kernel csr --directions $d --json > "$tmp/b2.out" 2>&1 ||
            { cat "$tmp/b2.out"; fail "bench_infer_asr --directions $d"; }
        python3 - "$d" <(tail -1 "$tmp/b2.out") <<'PY' || fail "bench_infer_asr --directions $d: $(tail -1 "$tmp/b2.out")"
import json, sys
want, j = sys.argv[1], json.load(open(sys.argv[2]))
assert j["threads"] == 2 and j["max_rel_diff"] <= 1e-4, j
assert j["directions"] == want if want != "auto" else j["plan_ms_turn"] > 0 and j["plan_ms_once"] > 0, j
PY
    done
    "$BENCH" "$S" --utts 3 --reps 1 --threads 2 --kernel csr --only runtime > "$tmp/b3.out" 2>&1 || fail "--only runtime"
    grep -q '^runtime ' "$tmp/b3.out" && ! grep -q '^dense ' "$tmp/b3.out" || fail "--only runtime: $(cat "$tmp/b3.out")"
    if "$BENCH" "$S" --utts 3 --reps 1 --threads 1 --kernel csr --directions once > "$tmp/b4.out" 2>&1; then
        fail "--directions once ran on one thread"
    fi
    grep -q 'cannot run at once: one thread' "$tmp/b4.out" || fail "--directions once, 1 thread: $(cat "$tmp/b4.out")"
    ok "bench_infer_asr --threads 2: directions at once, in turn and timed agree with dense; --only; one thread refused"
else
    echo "skip: $BENCH not built (make $BENCH): the latency bench's smoke run"
fi

cat > "$tmp/verbs.tp" <<'TP'
prune sparsity=0.5
grow ratio=0.1 batches=2
snapshot name=half
train steps=2
undo
prune sparsity=0.6 pattern=block block=4x4
TP
"$TOPIARY" run "$tmp/verbs.tp" --session "$S" > "$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; fail "verbs on a speech session"; }
"$TOPIARY" replay --session "$S" --verify 2>&1 | grep -q 'bit for bit' || fail "replay --verify"
ok "prune, grow, snapshot, train, undo, block pruning; replay --verify bit for bit"

"$TOPIARY" profile --session "$S" --sizes 8:16:8 --reps 1 --budget-s 1 > "$tmp/prof.out" 2>&1 || { cat "$tmp/prof.out"; fail "profile --session on a speech session"; }
grep -q '^latency profile: .*seq 50, input [0-9]*, dense, us per second of audio' "$tmp/prof.out" || fail "profile text: $(cat "$tmp/prof.out")"
grep -q '^directions: in turn at every size' "$tmp/prof.out" || fail "profile: the dense directions in turn: $(cat "$tmp/prof.out")"
# a sparse pattern at two threads: both plans timed per size, the count reported
"$TOPIARY" profile --session "$S" --sizes 8:16:8 --reps 1 --budget-s 1 --threads 2 --pattern sell-seg --sparsity 0.8 \
    > "$tmp/prof2.out" 2>&1 || { cat "$tmp/prof2.out"; fail "profile --session --threads 2 sell-seg"; }
grep -qE '^directions: (in turn at every size|at once, one thread each, at [0-2] of 2 sizes)' "$tmp/prof2.out" ||
    fail "profile --threads 2: the directions line: $(cat "$tmp/prof2.out")"
"$TOPIARY" profile --session "$S" --layer 1 --sizes 8:16:8 --backend accel --json > "$tmp/prof.json" || fail "profile --session --json"
python3 - "$tmp/prof.json" "$S/latency.tsv" <<'PY' || fail "profile --json / latency.tsv: $(cat "$tmp/prof.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["unit"] == "us per second of audio" and j["protocol"] == "audio-model", j
assert j["seq"] == 50 and j["batch"] == 1 and j["input"] == 16 and [p["hidden"] for p in j["points"]] == [8, 16], j
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
head = rows[0]
cur = [dict(zip(head, r)) for r in rows[1:]]
assert [r["protocol"] for r in cur] == ["audio-steady"] * 4 + ["audio-model"] * 2, cur
PY
grep -q 'profile sizes=8:16:8 reps=1 budget_s=1' "$S/journal.txt" || fail "profile --session is journaled"
printf 'recommend layer=1\ndse rows=16 cols=16\n' > "$tmp/lm.tp"
if "$TOPIARY" run "$tmp/lm.tp" --session "$S" > "$tmp/lm.out" 2>&1; then fail "dse accepted on a speech session"; fi
grep -q '^layer 1: hidden 16 .*us per second of audio' "$tmp/lm.out" || fail "recommend: $(cat "$tmp/lm.out")"
grep -q 'dse: not available for the speech task' "$tmp/lm.out" || fail "dse's refusal: $(cat "$tmp/lm.out")"
ok "profile --session: one bidirectional layer per second of audio (text, --json, latency.tsv, journal); recommend; dse refuses, saying why"

"$TOPIARY" export --session "$S" --out "$tmp/x" 2> "$tmp/export.err" || { cat "$tmp/export.err"; fail "export"; }
[ -f "$tmp/x/check.safetensors" ] || fail "export: no check.safetensors"
if "$TOPIARY" eval --model "$tmp/x" > "$tmp/m.out" 2>&1; then fail "eval --model accepted a speech export"; fi
grep -q 'speech (an4) export' "$tmp/m.out" || fail "eval --model's refusal: $(cat "$tmp/m.out")"
ok "export: model + check set; eval --model refuses it with the reason"
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    /usr/bin/python3 "$HERE/an4_torch_check.py" "$tmp/x" || fail "PyTorch does not reproduce the CTC losses"
    ok "PyTorch reproduces the export's CTC losses"
else
    echo "skip: /usr/bin/python3 has no torch: the PyTorch check is not run"
fi
