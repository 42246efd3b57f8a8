#!/usr/bin/env bash
# tests/e2e/compact_eval: the compact export and the inference runtime end to end, on the real binary.
#
#   train a tiny session, prune its LSTM matrices 90% (`prune ratio=0.9 params=l*.w_*`), export:
#   model.compact.safetensors is written, much smaller than model.safetensors, and `eval --model`
#   runs from it (the output names the file and the kernels) with the session's perplexity to 4
#   significant digits; without the compact file it runs from model.safetensors with the same
#   result, and with only the compact file too (DESIGN 2.4: "from either file"); a damaged compact
#   file is refused (exit 2, naming it); hidden-state thresholding: `--state-tau` training logs
#   state_sparsity in metrics.tsv, `state tau=T` changes the session's evaluation and the export
#   carries it (eval --model equals eval --session and reports the state sparsity).
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
# XDG_CACHE_HOME points into the temp dir, so the break-even is measured once here (~1-3 s).
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to parse the JSON output" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-compact-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export XDG_CACHE_HOME=$tmp/cache

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# eval --json lines A (session) and B (model): same split/tokens, loss and ppl within 1e-5 relative
close_eval() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:3])
bad = [k for k in ("split", "tokens", "eval_batch") if a[k] != b[k]]
bad += [k for k in ("loss", "ppl") if abs(a[k] - b[k]) > 1e-5 * abs(a[k])]
if bad or f"{a['ppl']:.4g}" != f"{b['ppl']:.4g}":
    sys.exit(f"differ in {bad}:\nsession: {a}\nmodel:   {b}")
EOF
}
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read()).get(sys.argv[2], ""))' "$1" "$2"; }

S=$tmp/s
E=$tmp/e
"$TOPIARY" train --session "$S" --max-steps 120 --hidden 64 --embed 16 --json >"$tmp/train.out" 2>"$tmp/err" \
    || fail "train: $(cat "$tmp/err")"
printf 'prune ratio=0.9 params=l*.w_*\n' >"$tmp/prune.txt"
"$TOPIARY" run "$tmp/prune.txt" --session "$S" >"$tmp/prune.out" 2>&1 || fail "prune: $(cat "$tmp/prune.out")"
"$TOPIARY" export --session "$S" --out "$E" >/dev/null 2>"$tmp/err" || fail "export: $(cat "$tmp/err")"
[ -s "$E/model.compact.safetensors" ] || fail "export wrote no model.compact.safetensors"
dense=$(stat -c %s "$E/model.safetensors")
compact=$(stat -c %s "$E/model.compact.safetensors")
python3 -c "import sys; d, c = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if c * 2 < d else 1)" "$dense" "$compact" \
    || fail "compact file $compact bytes is not under half the dense $dense"
ok "90% pruned: model.compact.safetensors $compact bytes, model.safetensors $dense bytes"

# eval --runtime is the speech session's switch: a language model session is told to use --model
if "$TOPIARY" eval --session "$S" --runtime >"$tmp/rt.out" 2>&1; then fail "eval --runtime accepted an LM session"; fi
grep -q 'eval --model EXPORTDIR' "$tmp/rt.out" || fail "eval --runtime's refusal: $(cat "$tmp/rt.out")"
ok "eval --runtime refuses a language model session, pointing to eval --model"

for split in test valid; do
    "$TOPIARY" eval --session "$S" --split $split --json >"$tmp/es.$split" 2>"$tmp/err" || fail "eval --session: $(cat "$tmp/err")"
    "$TOPIARY" eval --model "$E" --split $split --json >"$tmp/em.$split" 2>"$tmp/err" || fail "eval --model: $(cat "$tmp/err")"
    close_eval "$tmp/es.$split" "$tmp/em.$split" || fail "eval --model (compact) differs on $split"
    [ "$(field "$tmp/em.$split" runtime)" = model.compact.safetensors ] || fail "runtime: $(cat "$tmp/em.$split")"
done
ok "eval --model from the compact file equals eval --session: $(cat "$tmp/em.test")"
"$TOPIARY" eval --model "$E" --split test >"$tmp/text" 2>&1 || fail "text eval"
grep -q "^runtime: model.compact.safetensors, batch-1 steps; kernels: " "$tmp/text" || fail "text output: $(cat "$tmp/text")"
ok "text output names the runtime file and kernels: $(grep ^runtime "$tmp/text")"

cp -r "$E" "$tmp/dense-only" && rm "$tmp/dense-only/model.compact.safetensors"
"$TOPIARY" eval --model "$tmp/dense-only" --split test --json >"$tmp/ed" 2>"$tmp/err" || fail "dense-only: $(cat "$tmp/err")"
close_eval "$tmp/es.test" "$tmp/ed" || fail "eval --model from model.safetensors differs"
[ "$(field "$tmp/ed" runtime)" = model.safetensors ] || fail "runtime: $(cat "$tmp/ed")"
cp -r "$E" "$tmp/compact-only" && rm "$tmp/compact-only/model.safetensors"
"$TOPIARY" eval --model "$tmp/compact-only" --split test --json >"$tmp/ec" 2>"$tmp/err" || fail "compact-only: $(cat "$tmp/err")"
close_eval "$tmp/es.test" "$tmp/ec" || fail "eval --model from the compact file alone differs"
ok "from either file: model.safetensors alone and model.compact.safetensors alone give the same perplexity"

cp -r "$E" "$tmp/bad"
python3 - "$tmp/bad/model.compact.safetensors" <<'EOF'
import json, struct, sys
p = sys.argv[1]
raw = bytearray(open(p, "rb").read())
(n,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + n])
name = next(k for k in h if k.endswith(".row_ptr"))
b, e = h[name]["data_offsets"]
base = 8 + n + b
raw[base + 4:base + 8] = struct.pack("<i", -7)   # row_ptr[1] < row_ptr[0]
open(p, "wb").write(raw)
EOF
rc=0
"$TOPIARY" eval --model "$tmp/bad" --split test >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "model.compact.safetensors" "$tmp/err" || fail "damaged compact: exit $rc, $(cat "$tmp/err")"
ok "a damaged compact file is refused: $(head -1 "$tmp/err")"

# ---- hidden-state thresholding ----
T=$tmp/t
"$TOPIARY" train --session "$T" --max-steps 60 --hidden 64 --embed 16 --state-tau 0.05 --log-every 20 >/dev/null 2>"$tmp/err" \
    || fail "train --state-tau: $(cat "$tmp/err")"
python3 - "$T/metrics.tsv" <<'EOF' || fail "metrics.tsv state_sparsity"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
col = rows[0].index("state_sparsity")
vals = [float(r[col]) for r in rows[1:]]
assert vals and all(0.0 < v < 1.0 for v in vals), vals
print("ok: --state-tau 0.05 training logs state_sparsity", vals)
EOF
"$TOPIARY" eval --session "$S" --split test --json >"$tmp/before"
printf 'state tau=0.02\nexport out=%s\n' "$tmp/et" >"$tmp/state.txt"
"$TOPIARY" run "$tmp/state.txt" --session "$S" >"$tmp/state.out" 2>&1 || fail "state tau: $(cat "$tmp/state.out")"
grep -q "state tau=0.02" "$tmp/state.out" || fail "state verb output: $(cat "$tmp/state.out")"
"$TOPIARY" eval --session "$S" --split test --json >"$tmp/after"
[ "$(field "$tmp/before" loss)" != "$(field "$tmp/after" loss)" ] || fail "state tau=0.02 did not change the evaluation"
"$TOPIARY" eval --model "$tmp/et" --split test --json >"$tmp/emt" 2>"$tmp/err" || fail "eval thresholded export: $(cat "$tmp/err")"
close_eval "$tmp/after" "$tmp/emt" || fail "thresholded: eval --model differs from eval --session"
sp=$(field "$tmp/emt" state_sparsity)
[ -n "$sp" ] || fail "no state_sparsity in $(cat "$tmp/emt")"
ok "state tau=0.02: ppl $(field "$tmp/before" ppl) -> $(field "$tmp/after" ppl), eval --model agrees, state sparsity $sp"

echo "compact_eval: all checks passed"
