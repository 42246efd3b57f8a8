#!/usr/bin/env bash
# tests/e2e/export_eval: the export directory (DESIGN 2.4) end to end, on the real binary.
#
#   train a tiny session on the bundled corpus; `topiary export`; the export's files and names;
#   `eval --model EXPORTDIR` (the batch-1 inference runtime) prints what `eval --session` prints
#   (valid and test; loss and ppl within 1e-5 relative, i.e. to 4 significant digits); the
#   `export out=DIR` verb through `topiary run`; refusals exit 2 naming the file or option
#   (export into a session, a foreign directory, a damaged or missing export);
#   and, when /usr/bin/python3 has torch, tests/e2e/torch_check.py loads each export into
#   torch.nn.Embedding/LSTM/Linear (and an H-LSTM of nn.Linear gates) by the exported names and
#   reproduces topiary's loss within 1e-4 relative (char level, word level with <unk>, H-LSTM).
#
# $TOPIARY is the binary (the Makefile's e2e target sets it); default ./build/topiary.
# Prints "ok: <name>" per check and stops at the first failure.  Takes well under a minute.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to parse the JSON output" >&2; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-export-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Expect exit status 2 and a one-line "topiary: ..." reason containing NEEDLE.
expect_usage() {
    local name=$1 needle=$2; shift 3
    local rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2 (stderr: $(head -c 300 "$tmp/err"))"
    local first; first=$(head -n 1 "$tmp/err")
    [[ $first == topiary:* ]] || fail "$name: first stderr line does not start with 'topiary:': '$first'"
    [[ $first == *"$needle"* ]] || fail "$name: stderr reason does not mention '$needle': '$first'"
    ok "$name"
}

# Two `eval --json` lines agree: split, tokens, eval_batch identical; loss and ppl within 1e-5
# relative (so to 4 significant digits: `eval --model` runs the batch-1 inference runtime, whose
# sums are ordered differently), accuracy within 2 tokens; the runtime's own keys ignored.
same_eval() {
    python3 - "$1" "$2" <<'EOF'
import re, sys
RUNTIME = {"seconds", "runtime", "kernels", "state_sparsity"}
def fields(p):
    line = open(p).read().strip()
    assert line.count("\n") == 0 and line.startswith("{"), line
    return {k: v for k, v in re.findall(r'"(\w+)":("[^"]*"|[^,}]+)', line) if k not in RUNTIME}
a, b = fields(sys.argv[1]), fields(sys.argv[2])
ok = set(a) == set(b) and {"split", "tokens", "loss", "ppl", "accuracy"} <= set(a)
ok = ok and all(a[k] == b[k] for k in a if k not in ("loss", "ppl", "accuracy"))
ok = ok and all(abs(float(a[k]) - float(b[k])) <= 1e-5 * abs(float(a[k])) for k in ("loss", "ppl"))
ok = ok and abs(float(a["accuracy"]) - float(b["accuracy"])) <= 2.0 / float(a["tokens"]) + 1e-6
if not ok:
    sys.exit(f"session: {a}\nexport:  {b}")
EOF
}

json_get() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])' "$1" "$2"; }

# ---- train, export ----
S=$tmp/s
E=$tmp/export
"$TOPIARY" train --session "$S" --max-steps 150 --hidden 32 --embed 16 --json >"$tmp/train.out" 2>"$tmp/train.err" \
    || fail "train: exit status $? ($(cat "$tmp/train.err"))"
# prune some connections too, if the grow-and-prune engine is built by now (masks in the export)
if ! "$TOPIARY" help prune | grep -q "not available yet"; then
    printf 'prune ratio=0.3\n' >"$tmp/prune.txt"
    "$TOPIARY" run "$tmp/prune.txt" --session "$S" >"$tmp/prune.out" 2>&1 || fail "prune: $(cat "$tmp/prune.out")"
    ok "pruned 30% before exporting"
fi
"$TOPIARY" export --session "$S" --out "$E" >"$tmp/export.out" 2>"$tmp/export.err" \
    || fail "export: exit status $? ($(cat "$tmp/export.err"))"
for f in model.safetensors config.json vocab.json; do [ -s "$E/$f" ] || fail "export: $E/$f missing or empty"; done
[ ! -e "$E/manifest.json" ] || fail "export: wrote a manifest.json"
python3 - "$E" "$S" <<'EOF' || fail "export: files"
import json, struct, sys
e, s = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{e}/config.json"))
man = json.load(open(f"{s}/manifest.json"))
assert cfg["format"] == "topiary-export" and cfg["version"] == 1, cfg
assert (cfg["vocab"], cfg["embed"], cfg["layers"], cfg["hidden"], cfg["cell"]) == (65, 16, 2, [32, 32], "lstm"), cfg
assert cfg["task"]["level"] == "char" and cfg["task"]["data"].endswith("tinyshakespeare.txt"), cfg["task"]
m = cfg["metrics"]
assert m["step"] == man["state"]["step"] == 150 and m["params"] == man["model"]["params"] and m["nnz"] == man["model"]["nnz"], m
assert json.load(open(f"{e}/vocab.json")) == json.load(open(f"{s}/vocab.json"))
raw = open(f"{e}/model.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + n])
assert json.loads(h.pop("__metadata__")["topiary"]) == cfg
want = {"embed.weight": [65, 16], "decoder.weight": [65, 32], "decoder.bias": [65]}
for k in range(2):
    want.update({f"lstm.weight_ih_l{k}": [128, 16 if k == 0 else 32], f"lstm.weight_hh_l{k}": [128, 32],
                 f"lstm.bias_ih_l{k}": [128], f"lstm.bias_hh_l{k}": [128]})
got = {k: v["shape"] for k, v in h.items() if not k.startswith("mask.")}
assert got == want, got
assert all(h["mask." + k]["dtype"] == "U8" and h["mask." + k]["shape"] == v for k, v in want.items())
assert all(h[k]["dtype"] == "F32" for k in want)
EOF
ok "export writes model.safetensors (PyTorch names and shapes, U8 masks, metadata), config.json, vocab.json"

# ---- eval --model == eval --session (to 4 significant digits) ----
for split in test valid; do
    "$TOPIARY" eval --session "$S" --split $split --json >"$tmp/es.$split" 2>"$tmp/err" || fail "eval --session: $(cat "$tmp/err")"
    "$TOPIARY" eval --model "$E" --split $split --json >"$tmp/em.$split" 2>"$tmp/err" || fail "eval --model: $(cat "$tmp/err")"
    same_eval "$tmp/es.$split" "$tmp/em.$split" || fail "eval --model differs from eval --session on $split"
    ok "eval --model --split $split equals eval --session: $(cat "$tmp/em.$split")"
done
# from another directory, with --data, and in text form
(cd / && "$TOPIARY" eval --model "$E" --split test --json) >"$tmp/em.cwd" || fail "eval --model from /"
same_eval "$tmp/es.test" "$tmp/em.cwd" || fail "eval --model depends on the working directory"
data=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["task"]["data"])' "$E/config.json")
cp "$data" "$tmp/copy.txt"
"$TOPIARY" eval --model "$E" --split test --data "$tmp/copy.txt" --json >"$tmp/em.data" || fail "eval --model --data"
same_eval "$tmp/es.test" "$tmp/em.data" || fail "eval --model --data differs"
"$TOPIARY" eval --model "$E" --split test | grep -q "^test split: ppl " || fail "eval --model: text output"
ok "eval --model works from any directory, with --data, and in text form"

# ---- the export verb, re-export over an export ----
printf 'train steps=5\nexport out=%s\n' "$E" >"$tmp/script.txt"
"$TOPIARY" run "$tmp/script.txt" --session "$S" >"$tmp/run.out" 2>"$tmp/run.err" || fail "run export: $(cat "$tmp/run.err")"
grep -q "exported step 155 to $E" "$tmp/run.out" || fail "export verb output: $(cat "$tmp/run.out")"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["step"])' "$E/config.json")" = 155 ] \
    || fail "re-export did not replace config.json"
"$TOPIARY" eval --session "$S" --split test --json >"$tmp/es2" && "$TOPIARY" eval --model "$E" --split test --json >"$tmp/em2"
same_eval "$tmp/es2" "$tmp/em2" || fail "after re-export: eval --model differs"
ok "export out=DIR verb (topiary run) re-exports over a previous export"

# ---- refusals ----
expect_usage "export into the session itself" "session" -- "$TOPIARY" export --session "$S" --out "$S"
mkdir -p "$tmp/foreign" && echo mine >"$tmp/foreign/notes.txt"
expect_usage "export into a foreign non-empty directory" "notes.txt" -- "$TOPIARY" export --session "$S" --out "$tmp/foreign"
[ "$(cat "$tmp/foreign/notes.txt")" = mine ] && [ ! -e "$tmp/foreign/model.safetensors" ] || fail "foreign dir touched"
expect_usage "export without --out" "--out" -- "$TOPIARY" export --session "$S"
expect_usage "export of a missing session" "$tmp/nosession" -- "$TOPIARY" export --session "$tmp/nosession" --out "$tmp/x"
expect_usage "eval --model of a missing export" "config.json" -- "$TOPIARY" eval --model "$tmp/nothing" --split test
expect_usage "eval with --session and --model" "not both" -- "$TOPIARY" eval --session "$S" --model "$E"
cp -r "$E" "$tmp/bad"
rm -f "$tmp/bad/model.compact.safetensors" # eval --model reads the dense file only without it (compact_eval.sh)
python3 - "$tmp/bad/model.safetensors" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[20] ^= 0x55  # inside the JSON header
open(p, "wb").write(b)
EOF
expect_usage "eval --model of a damaged model.safetensors" "model.safetensors" -- "$TOPIARY" eval --model "$tmp/bad"
cp -r "$E" "$tmp/bad2"
rm -f "$tmp/bad2/model.compact.safetensors"
rm -f "$tmp/bad2/checksums.json" # as an older export: the shape check itself must catch the lie
python3 - "$tmp/bad2/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["hidden"] = [32, 31]
json.dump(c, open(p, "w"))
EOF
expect_usage "eval --model with config.json lying about a shape" "lstm.weight_ih_l1" -- "$TOPIARY" eval --model "$tmp/bad2"
expect_usage "eval --model with a missing --data" "/nonexistent" -- "$TOPIARY" eval --model "$E" --data /nonexistent

# ---- PyTorch ----
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import torch" 2>/dev/null; then
    torch_check() { # EXPORTDIR SPLIT EVAL_JSON
        "$PY" "$HERE/torch_check.py" "$1" --split "$2" --loss "$(json_get "$3" loss)" --tokens "$(json_get "$3" tokens)" \
            || fail "torch_check $1"
    }
    torch_check "$E" test "$tmp/em2"
    ok "PyTorch (nn.Embedding/nn.LSTM/nn.Linear, strict names) reproduces the char-level LSTM's test loss"
    # word level with <unk> in valid/test, one layer
    python3 - "$tmp/ptb" <<'EOF'
import os, random, sys
d = sys.argv[1]
os.makedirs(d)
r = random.Random(5)
words = "the cat sat on a mat dog ran to house big small red tree bird sang".split()
for split, n, extra in (("train", 400, []), ("valid", 40, ["zebra"]), ("test", 40, ["yak", "zebra"])):
    with open(f"{d}/ptb.{split}.txt", "w") as f:
        for _ in range(n):
            f.write(" " + " ".join(r.choice(words + extra) for _ in range(r.randint(2, 9))) + " \n")
EOF
    "$TOPIARY" train --session "$tmp/w" --data "$tmp/ptb" --layers 1 --hidden 16 --embed 8 --max-steps 40 --bptt 10 \
        --batch 4 --json >/dev/null 2>"$tmp/err" || fail "word train: $(cat "$tmp/err")"
    "$TOPIARY" export --session "$tmp/w" --out "$tmp/wx" 2>/dev/null || fail "word export"
    "$TOPIARY" eval --model "$tmp/wx" --split test --json >"$tmp/wev" || fail "word eval --model"
    torch_check "$tmp/wx" test "$tmp/wev"
    ok "PyTorch reproduces the word-level LSTM's test loss (<eos>, <unk>)"
    # tied: the word-level session tied (tie verb), pruned and trained on; PyTorch ties its parameters
    "$TOPIARY" train --session "$tmp/wu" --data "$tmp/ptb" --layers 1 --hidden 8 --embed 8 --max-steps 30 --bptt 10 \
        --batch 4 --json >/dev/null 2>"$tmp/err" || fail "untied train: $(cat "$tmp/err")"
    printf 'tie\nprune sparsity=0.6\ntrain steps=10\n' | "$TOPIARY" run - --session "$tmp/wu" >/dev/null 2>"$tmp/err" \
        || fail "tie: $(cat "$tmp/err")"
    "$TOPIARY" train --session "$tmp/wt" --data "$tmp/ptb" --layers 1 --hidden 8 --embed 8 --tie 1 --max-steps 30 --bptt 10 \
        --batch 4 --json >/dev/null 2>"$tmp/err" || fail "tied train: $(cat "$tmp/err")"
    for s in wu wt; do
        "$TOPIARY" export --session "$tmp/$s" --out "$tmp/${s}tx" 2>/dev/null || fail "tied export $s"
        "$TOPIARY" eval --session "$tmp/$s" --split test --json >"$tmp/${s}tes" || fail "tied eval --session $s"
        "$TOPIARY" eval --model "$tmp/${s}tx" --split test --json >"$tmp/${s}tev" || fail "tied eval --model $s"
        same_eval "$tmp/${s}tes" "$tmp/${s}tev" || fail "tied $s: eval --model differs from eval --session"
        torch_check "$tmp/${s}tx" test "$tmp/${s}tev"
    done
    ok "tied (the tie verb on a trained session, and --tie 1): eval --model equals eval --session, PyTorch's tied model reproduces it"
    # H-LSTM on a small file
    head -n 2000 "$data" >"$tmp/small.txt"
    "$TOPIARY" train --session "$tmp/h" --data "$tmp/small.txt" --cell hlstm --gate-hidden 8 --hidden 16 --embed 8 \
        --max-steps 40 --json >/dev/null 2>"$tmp/err" || fail "hlstm train: $(cat "$tmp/err")"
    "$TOPIARY" export --session "$tmp/h" --out "$tmp/hx" 2>/dev/null || fail "hlstm export"
    "$TOPIARY" eval --session "$tmp/h" --split test --json >"$tmp/hes" && "$TOPIARY" eval --model "$tmp/hx" --split test --json >"$tmp/hev"
    same_eval "$tmp/hes" "$tmp/hev" || fail "hlstm: eval --model differs from eval --session"
    torch_check "$tmp/hx" test "$tmp/hev"
    ok "H-LSTM: eval --model equals eval --session, and PyTorch (hlstm.l0.{i,f,g,o}.fc1/fc2) reproduces it"
else
    echo "skip: torch not installed"
fi

echo "export_eval: all checks passed"
