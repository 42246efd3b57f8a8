#!/usr/bin/env bash
# tests/e2e/cli_backend: `topiary train --backend` on the real binary.
#
#   --backend gpu (unknown) exits 2 naming the choices; --backend cuda exits 2 with the reason where no
#   CUDA device is usable (no device / driver / out of memory / not compiled in) and creates nothing,
#   or trains where one is; --backend auto says which backend it chose and trains; --backend cpu trains
#   silently as before; `run --backend` likewise; `profile --target cuda` without a device exits 2 with
#   the reason too.
set -euo pipefail
TOPIARY=${TOPIARY:-./build/topiary}
case $TOPIARY in /*) ;; *) TOPIARY=$PWD/$TOPIARY ;; esac
[ -x "$TOPIARY" ] || { echo "FAIL: $TOPIARY is not an executable (build it first: make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-e2e-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
small=(--hidden 16 --embed 8 --max-steps 2)

set +e
"$TOPIARY" train --session g --backend gpu "${small[@]}" >out 2>err; rc=$?
set -e
[ $rc = 2 ] && grep -q "expected cpu, cuda or auto" err || fail "--backend gpu: rc $rc: $(cat err)"
[ ! -e g ] || fail "--backend gpu created a session"
ok "an unknown backend exits 2 naming the choices"

set +e
"$TOPIARY" train --session c --backend cuda "${small[@]}" >out 2>err; rc=$?
set -e
if [ $rc = 2 ]; then
    grep -Eq "CUDA: (no device|driver too old|out of memory|not compiled in)" err || fail "--backend cuda: no reason: $(cat err)"
    [ ! -e c ] || fail "--backend cuda without a device created a session"
    ok "--backend cuda without a usable device exits 2: $(head -n 1 err)"
    cuda=no
else
    [ $rc = 0 ] || fail "--backend cuda: rc $rc: $(cat err)"
    grep -q "backend: cuda" err || fail "--backend cuda did not say so: $(cat err)"
    ok "--backend cuda trained on the device"
    cuda=yes
fi

"$TOPIARY" train --session a --backend auto "${small[@]}" >out 2>err || fail "--backend auto: $(cat err)"
if [ $cuda = yes ]; then grep -q "backend auto: cuda" err; else grep -q "backend auto: cpu (CUDA" err; fi \
    || fail "--backend auto did not say what it chose: $(cat err)"
ok "--backend auto says: $(grep 'backend auto' err | head -n 1)"

"$TOPIARY" train --session p --backend cpu "${small[@]}" >out 2>err || fail "--backend cpu: $(cat err)"
! grep -q "backend auto\|backend: cuda" err || fail "--backend cpu said something about a device"
ok "--backend cpu trains on the CPU trainer"

printf 'train steps=2\ntrain steps=2\n' >script.txt
"$TOPIARY" run script.txt --session r --hidden 16 --embed 8 --backend auto >out 2>err || fail "run --backend auto: $(cat err)"
grep -q "backend auto:" err || fail "run --backend auto did not say what it chose: $(cat err)"
ok "run --backend auto runs a script of two train verbs"

if [ $cuda = no ]; then
    set +e
    "$TOPIARY" run script.txt --session r2 --hidden 16 --embed 8 --backend cuda >out 2>err; rc=$?
    set -e
    [ $rc = 2 ] && [ ! -e r2 ] || fail "run --backend cuda without a device: rc $rc: $(cat err)"
    ok "run --backend cuda without a device exits 2 before creating the session"
    set +e
    "$TOPIARY" profile --target cuda --sizes 8,16 >out 2>err; rc=$?
    set -e
    [ $rc = 2 ] && grep -q "CUDA" err || fail "profile --target cuda without a device: rc $rc: $(cat err)"
    ok "profile --target cuda without a device exits 2 with the reason"
fi
