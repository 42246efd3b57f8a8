#!/usr/bin/env bash
# tests/e2e/hostile_files: bounded memory, no hang and checked files whatever a hostile user hands
# topiary (issue 11, case 8, the checksums and case 10).
#
# Real processes only: /dev/zero, symlinks, a FIFO with no writer, kill -9 during an export, every
# command under `timeout`.  Prints "ok: <check>" per check and stops at the first failure; closes with
# "hostile_files: all checks passed".  Takes about 30 s.
set -euo pipefail

TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to edit the JSON files" >&2; exit 1; }
DATA=$(cd "$(dirname "$TOPIARY")/.." && pwd)/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-hostile-XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
ln -s "$DATA" data
T=$TOPIARY
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
task=(--hidden 16 --layers 1 --embed 8 --bptt 10 --batch 4 --threads 1 --log-every 2)
# expect_rc CODE NEEDLE CMD...: run under a 20 s timeout, check the exit code and that stderr has NEEDLE
expect_rc() {
    local want=$1 needle=$2; shift 2
    set +e; err=$(timeout 20 "$@" 2>&1 >/dev/null); local rc=$?; set -e
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $* -- $err"
    [ -z "$needle" ] || echo "$err" | grep -qF -- "$needle" || fail "message of '$*' lacks '$needle': $err"
}
# json_edit FILE PYTHON: run PYTHON on the parsed JSON `j` of FILE and write it back
json_edit() {
    python3 - "$1" "$2" <<'PY'
import json, sys
p, code = sys.argv[1], sys.argv[2]
j = json.load(open(p))
exec(code)
json.dump(j, open(p, "w"), indent=1)
PY
}

$T train --session S "${task[@]}" --max-steps 2 >/dev/null 2>&1 || fail "create S"
$T export --session S --out X >/dev/null 2>&1 || fail "export"
[ -f X/checksums.json ] || fail "export wrote no checksums.json"
ok "export writes checksums.json"

# ---- case 8: sizes checked before allocating; devices and FIFOs refused -----------------------------
cp -r X H; rm H/checksums.json H/model.compact.safetensors
json_edit H/config.json 'j["hidden"] = [16384] * len(j["hidden"])'
s0=$(date +%s)
expect_rc 2 "config.json and the model do not match" $T eval --model H --split valid
[ $(( $(date +%s) - s0 )) -lt 10 ] || fail "case 8: eval --model with a huge config took too long"
ok "8: a config larger than its model file is refused before allocating"
expect_rc 2 "character device" $T eval --session S --split valid --data /dev/zero
ok "8: --data /dev/zero is refused"
cp -r X D; rm D/checksums.json
json_edit D/config.json 'j["task"]["data"] = "/dev/zero"'
expect_rc 2 "character device" $T eval --model D --split valid
ok "8: an export whose config names /dev/zero as data is refused"
cp -r S SD
json_edit SD/manifest.json 'j["task"]["data"] = "/dev/zero"; j.pop("manifest_crc32")'
expect_rc 2 "character device" $T eval --session SD --split valid
ok "8: a session whose task names /dev/zero as data is refused"
cp -r S Z; ln -sf /dev/zero Z/model.safetensors
expect_rc 2 "character device" $T eval --session Z --split valid
ok "8: a model.safetensors symlinked to /dev/zero is refused"
cp -r S ZL; ln -sf /dev/zero ZL/latency.tsv
expect_rc 2 "character device" $T plot --session ZL --chart latency
ok "8: a latency.tsv symlinked to /dev/zero is refused"
cp -r X V; rm V/checksums.json; ln -sf /dev/zero V/vocab.json
expect_rc 2 "character device" $T eval --model V --split valid
ok "8: an export's vocab.json symlinked to /dev/zero is refused"
mkfifo fifo
expect_rc 2 "a FIFO" $T eval --session S --split valid --data fifo
expect_rc 2 "topiary run -" $T run fifo --session S
ok "8: a FIFO as data or as a script is refused without waiting for a writer"
printf 'eval split=valid\n' | timeout 20 $T run - --session S >/dev/null 2>&1 || fail "run - (stdin) no longer works"
ok "8: a script on stdin (run -) still works"

# ---- checksums: the manifest's own and the export's files --------------------------------------------
cp -r S M
python3 - M/manifest.json <<'PY'
import re, sys
p = sys.argv[1]; t = open(p).read()
m = re.search(r'"step":\s*(\d)', t)
d = str((int(m.group(1)) + 1) % 10)
open(p, "w").write(t[:m.start(1)] + d + t[m.end(1):])
PY
expect_rc 2 "CRC32" $T eval --session M --split valid
echo "$err" | grep -q "manifest.json" || fail "manifest CRC refusal does not name manifest.json: $err"
ok "checksums: a manifest edited behind its CRC is refused"
for f in config.json model.safetensors vocab.json model.compact.safetensors; do
    rm -rf C; cp -r X C
    python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' C/$f
    expect_rc 2 "C/$f: CRC32" $T eval --model C --split valid
    rm -rf C; cp -r X C; truncate -s -1 C/$f
    expect_rc 2 "C/$f:" $T eval --model C --split valid
done
ok "checksums: a modified or truncated export file is refused with its name"
cp -r X O; rm O/checksums.json
expect_rc 0 "no checksums.json" $T eval --model O --split valid
ok "checksums: an export without checksums.json (older topiary) opens, with a note"

# ---- case 10 -----------------------------------------------------------------------------------------
$T replay --session S --out R >/dev/null 2>&1 || fail "replay --out"
head -n 1 R/metrics.tsv | grep -q "^step	epoch" || fail "replay --out: metrics.tsv without header: $(head -n 2 R/metrics.tsv)"
ok "10: replay --out writes metrics.tsv with its header"
printf 'the cat\nsat on\xe9 the mat\n' > latin1.txt
for i in $(seq 30); do echo "the cat sat on the mat $i"; done >> latin1.txt
expect_rc 2 "latin1.txt:2:7: invalid UTF-8" $T train --session W --data latin1.txt --level word "${task[@]}" --max-steps 1
[ ! -e W ] || fail "case 10: an invalid UTF-8 corpus left a session"
ok "10: word level refuses invalid UTF-8 with file:line:column"
expect_rc 2 "unknown command 'bogus'" $T help bogus
expect_rc 2 "did you mean 'prune'" $T help prnue
expect_rc 0 "" $T help prune
ok "10: help of an unknown command exits 2 with did-you-mean"
cp -r S N
json_edit N/manifest.json 'j["state"]["step"] = 2**70; j.pop("manifest_crc32")'
expect_rc 2 "state.step: expected an integer" $T eval --session N --split valid
ok "10: a manifest step of 2^70 is refused naming the field"
for i in $(seq 40); do echo "w$i x y"; done > small.txt
expect_rc 2 "--batch" $T train --session B --data small.txt --batch 1000 --max-steps 1
ok "10: a corpus too small for --batch names the option"
expect_rc 2 "needs a value" $T train --session
ok "10: a missing --session value is reported as such"
expect_rc 1 "parameters need" $T train --session G --hidden 65536 --layers 4 --embed 65536 --max-steps 1
echo "$err" | grep -q " 0 parameters" && fail "case 10: a message still says 0 parameters: $err"
ok "10: a model larger than memory says what it needs, not 'out of memory for 0 parameters'"

# killed exports: their temp files are removed by the next export, and nothing outside the directory
$T train --session BIG --hidden 512 --layers 2 --embed 64 --threads 1 --max-steps 1 >/dev/null 2>&1 || fail "create BIG"
killed=0
for i in 1 2 3 4 5 6; do
    $T export --session BIG --out XB >/dev/null 2>&1 &
    p=$!; pids+=($p)
    sleep 0.$(( RANDOM % 4 ))$(( RANDOM % 10 ))
    kill -KILL $p 2>/dev/null && killed=$((killed + 1)) || true
    wait $p 2>/dev/null || true
done
echo keep > outside.txt
mkdir -p XB; ln -sf "$tmp/outside.txt" XB/vocab.json.tmp.AbCd12; echo partial > XB/model.safetensors.tmp.XyZ789
$T export --session BIG --out XB >/dev/null 2>&1 || fail "export after kills"
! ls XB | grep -q '\.tmp\.' || fail "case 10: temp files survived the next export: $(ls XB)"
[ "$(cat outside.txt)" = keep ] || fail "case 10: the export deleted outside its directory"
$T eval --model XB --split valid >/dev/null 2>&1 || fail "eval of the export after kills"
ok "10: temp files of killed exports ($killed kills) are removed by the next export, nothing outside it"

echo "hostile_files: all checks passed"
